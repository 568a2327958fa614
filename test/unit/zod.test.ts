import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from '../../functions/core/zod';

/**
 * `compiledObject` builds a zod/mini object on zod's compiling parser through zod's internals ($constructor,
 * $ZodObjectJIT), so package.json pins zod exactly; these checks fail first if an upgrade changes those internals.
 */
const shape = () => ({
  id: z.string().check(z.minLength(1, 'must not be empty')),
  count: z.optional(z.number().check(z.int())),
  nested: z.optional(z.object({ at: z.string() })),
});

const inputs: unknown[] = [
  { id: 'a' },
  { id: 'a', count: 2, nested: { at: 'x' } },
  { id: 'a', extra: true, nested: { at: 'x', more: 1 } },
  { id: '' },
  { id: 'a', count: 1.5 },
  { count: 'two' },
  { id: 'a', nested: { at: 3 } },
  'not an object',
  null,
  [],
];

afterEach(() => {
  z.config({ jitless: false });
  vi.restoreAllMocks();
});

describe('compiledObject (functions/core/zod.ts)', () => {
  it('is a zod/mini object with its shape, and accepts, strips and refuses exactly as z.object does', () => {
    const compiled = z.compiledObject(shape());
    expect(compiled).toBeInstanceOf(z.ZodMiniObject);
    expect(Object.keys(compiled.shape)).toEqual(['id', 'count', 'nested']);
    const plain = z.object(shape());
    for (const input of inputs) {
      const [a, b] = [compiled.safeParse(input), plain.safeParse(input)];
      expect({ success: a.success, data: a.data, issues: a.error?.issues }).toEqual({
        success: b.success,
        data: b.data,
        issues: b.error?.issues,
      });
    }
  });

  it('compiles its parser on the first parse unless jitless was set before it was built', () => {
    z.config({ jitless: false });
    const jit = z.compiledObject(shape());
    z.config({ jitless: true });
    const jitless = z.compiledObject(shape());
    const compile = vi.spyOn(globalThis, 'Function');
    jitless.parse({ id: 'a' });
    expect(compile).not.toHaveBeenCalled();
    jit.parse({ id: 'a' });
    expect(compile).toHaveBeenCalled();
  });
});
