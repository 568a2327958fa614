#!/usr/bin/env node
// Operator CLI entry point. In a checkout of the repository it runs the TypeScript sources through tsx, so a
// clone needs no build step; the installed npm package ships no sources and runs the CLI `npm run build` made.
import { existsSync } from 'node:fs';

const source = new URL('../functions/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.mjs');
}
