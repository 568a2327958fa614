import { config } from 'zod/mini';

/**
 * Turns off zod's JIT for a process that parses each document once, as a renewal does (its state, its account, a few
 * CA answers). zod/mini's objects never compile, but the state schema is built with `compiledObject` (core/zod.ts),
 * which compiles a parser on its first parse unless this is set: that pays back in the scheduler, which parses
 * thousands of state documents a pass, and is only a cost where each document is read once. Before zod/mini, when
 * every object compiled, the JIT cost a renewal 60–80 ms of CPU on the way to the CA (bench/results.md, section 1).
 *
 * An object schema reads this setting when it is built, so this module must be the entry point's first import.
 */
config({ jitless: true });
