import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { config } from 'zod/mini';

/**
 * Each case loads a handler in a fresh module registry, then parses a state document with the schema that handler's
 * modules built and records whether zod compiled a parser for it (its JIT makes one with `new Function` on the first
 * parse). zod itself is loaded once per test file, so its global configuration is reset before each case.
 */
async function compilesOnFirstParse(handler: string): Promise<boolean> {
  vi.resetModules();
  await import(handler);
  const { certificateStateSchema, emptyState } = await import('../../../functions/core/renewal/state');
  const compile = vi.spyOn(globalThis, 'Function');
  certificateStateSchema.parse(emptyState('shop'));
  const compiled = compile.mock.calls.length > 0;
  compile.mockRestore();
  return compiled;
}

beforeEach(() => {
  config({ jitless: false });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

describe("zod's JIT per entry point (functions/composition/one-shot-parsing.ts)", () => {
  it('the renewer and first-import entry points build their schemas without it: each document is parsed once', async () => {
    expect(await compilesOnFirstParse('../../../functions/handlers/renewer')).toBe(false);
    expect(await compilesOnFirstParse('../../../functions/handlers/first-import')).toBe(false);
  });

  it('the scheduler keeps it: a pass parses thousands of state documents with the same schema', async () => {
    expect(await compilesOnFirstParse('../../../functions/handlers/scheduler')).toBe(true);
  });
});
