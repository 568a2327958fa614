import { provisionTestBed } from '../../testbed/provision';
import { testBedTls } from '../../testbed/tls';

/**
 * vitest globalSetup of the integration project: provisions the test bed once before any test file runs, and
 * fails the run with provisioning's own message (what broke, what to install) instead of skipping tests.
 */
export default function setup(): void {
  const cacheDir = provisionTestBed();
  // Made here, once, so parallel test files never race to create the TLS material.
  testBedTls(cacheDir);
}
