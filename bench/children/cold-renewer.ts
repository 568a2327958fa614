/**
 * The renewer Lambda entry point plus what its first invocation builds, bundled exactly like the deployed one, so a
 * fresh process can time "import the bundle, then build the clients" the way a cold start does.
 */

export { createRenewerRuntime } from '../../functions/composition/runtime';
export { configFromEnv } from '../../functions/composition/runtime-config';
export { handler } from '../../functions/handlers/renewer';
