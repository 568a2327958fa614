import { config } from 'zod/mini';

/**
 * Turns off zod's JIT for a process that parses each document once, as a renewal does (the inventory, its state, its
 * account, a few CA answers). The JIT compiles a parser for every object schema on its first parse, which pays back
 * only over many parses: in the renewer it cost about 60–80 ms of CPU an invocation, spent on the way to the CA
 * (bench/results.md, section 1). The scheduler, which parses thousands of state documents a pass, keeps it.
 *
 * An object schema reads this setting when it is built, so this module must be the entry point's first import.
 */
config({ jitless: true });
