import { ConfigError } from '../../functions/core/config/inventory';
import { createApp } from '../lib/create-app';

// A configuration mistake is the operator's to fix: print every problem plainly instead of a stack trace.
try {
  createApp().app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
