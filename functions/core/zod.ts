import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * The schema library of the shipped code: `zod/mini`, the functional, tree-shakable API of the zod dependency, so a
 * Lambda bundle carries only the schemas and checks it uses (classic `zod` put ~100 kB into every bundle, most of it
 * methods no schema calls; bench/results.md §3). Unlike classic zod, zod/mini registers no locale, and every default
 * message would read "Invalid input": English is set here, as classic zod does, unless a locale is already configured.
 * Every schema module imports zod from here, so the messages are in place before any schema parses.
 */
if (config().localeError === undefined) config(en());

export * from 'zod/mini';
