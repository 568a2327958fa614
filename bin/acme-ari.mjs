#!/usr/bin/env node
// Operator CLI entry point: runs the TypeScript sources through tsx, so a clone needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../functions/cli/main.ts');
