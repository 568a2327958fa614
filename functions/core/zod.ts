import { en } from 'zod/locales';
import { config, type ZodMiniObject, ZodMiniType } from 'zod/mini';
// Named imports from the core, not the `core` namespace of zod/mini: using that namespace bundles all of it (~300 kB).
import { $constructor, type $strip, type $ZodLooseShape, $ZodObjectJIT, type util } from 'zod/v4/core';

/**
 * The schema library of the shipped code: `zod/mini`, the functional, tree-shakable API of the zod dependency, so a
 * Lambda bundle carries only the schemas and checks it uses (classic `zod` put ~100 kB into every bundle, most of it
 * methods no schema calls; bench/results.md §3). Unlike classic zod, zod/mini registers no locale, and every default
 * message would read "Invalid input": English is set here, as classic zod does, unless a locale is already configured.
 * Every schema module imports zod from here, so the messages are in place before any schema parses.
 */
if (config().localeError === undefined) config(en());

export * from 'zod/mini';

/** zod/mini's object on the core's compiling parser ($ZodObjectJIT), as classic zod builds its objects. */
const ZodMiniCompiledObject = $constructor<ZodMiniObject>(
  'ZodMiniObject',
  (inst, def) => {
    $ZodObjectJIT.init(inst, def);
    ZodMiniType.init(inst, def);
  },
  {
    get shape() {
      return this._zod.def.shape;
    },
  },
);

/**
 * `z.object` whose parser zod compiles (`new Function`) on its first parse, unless `jitless` was configured before it
 * was built (functions/composition/one-shot-parsing.ts). zod/mini's own objects never compile; for a schema parsed in
 * bulk — the scheduler reads thousands of state documents a pass — the compiled parser is several times faster.
 */
export function compiledObject<const T extends $ZodLooseShape>(
  shape: T,
): ZodMiniObject<util.Writeable<T>, $strip> {
  return new ZodMiniCompiledObject({ type: 'object', shape }) as unknown as ZodMiniObject<
    util.Writeable<T>,
    $strip
  >;
}
