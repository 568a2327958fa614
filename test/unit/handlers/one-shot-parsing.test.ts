import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../infra/lib/lambda-bundling';

/**
 * Loads one handler in a process of its own (zod's configuration and its cached probe for `new Function` are per
 * process, as in Lambda), then parses a state document with the schema that handler's modules built and says whether
 * zod compiled a parser for it: its JIT makes one with `new Function` on the first parse.
 */
function compilesOnFirstParse(handler: string): boolean {
  const url = (path: string) => pathToFileURL(`${PROJECT_ROOT}/${path}`).href;
  const script = `
    await import(${JSON.stringify(url(handler))});
    const { certificateStateSchema, emptyState } = await import(${JSON.stringify(url('functions/core/renewal/state.ts'))});
    let compiled = 0;
    globalThis.Function = new Proxy(globalThis.Function, {
      construct: (target, args) => { compiled += 1; return Reflect.construct(target, args); },
    });
    certificateStateSchema.parse(emptyState('shop'));
    process.stdout.write(String(compiled > 0));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  return out.trim().split('\n').pop() === 'true';
}

describe("zod's JIT per entry point (functions/composition/one-shot-parsing.ts)", () => {
  it('the renewer and first-import entry points build their schemas without it: each document is parsed once', () => {
    expect(compilesOnFirstParse('functions/handlers/renewer.ts')).toBe(false);
    expect(compilesOnFirstParse('functions/handlers/first-import.ts')).toBe(false);
  });

  it('the scheduler keeps it: a pass parses thousands of state documents with the same schema', () => {
    expect(compilesOnFirstParse('functions/handlers/scheduler.ts')).toBe(true);
  });
});
