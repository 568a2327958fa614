import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AcmeApp, createApp } from '../../infra/lib/create-app';
import { PROJECT_ROOT } from '../../infra/lib/lambda-bundling';
import { scratchDir } from '../support/scratch';

/** The context `cdk synth` gets from cdk.json (feature flags and defaults), so tests synthesize the same app. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** Builds the app as `cdk synth` does, into a fresh output folder; `bundle: false` skips esbuild for speed. */
export function buildApp(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean } = {},
): AcmeApp & { outdir: string } {
  const outdir = scratchDir('acme-infra-');
  const acme = createApp({
    outdir,
    context: {
      ...cdkJsonContext(),
      // Someone must hear the alarms, or synthesis fails; tests that check that pass their own context.
      notificationEmail: 'alarms@example.com',
      ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
      ...context,
    },
  });
  return { ...acme, outdir };
}

/** Validation report findings (cdk-nag and CloudFormation checks) of a synthesized app. */
export function validationFindings(outdir: string): string[] {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName?: string; violations?: { ruleName: string; severity?: string }[] }[];
  };
  return report.pluginReports.flatMap((plugin) =>
    (plugin.violations ?? []).map((v) => `${plugin.pluginName ?? '?'}: ${v.severity ?? ''} ${v.ruleName}`),
  );
}
