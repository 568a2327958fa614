/**
 * The scheduler Lambda entry point plus what its first invocation builds, bundled exactly like the deployed one, so a
 * fresh process can time "import the bundle, then build the clients" the way a cold start does.
 */

export { configFromEnv, createRuntime } from '../../functions/composition/runtime';
export { handler } from '../../functions/handlers/scheduler';
