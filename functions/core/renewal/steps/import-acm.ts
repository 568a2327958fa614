import { AcmeAwsError, describeError } from '../../errors';
import type { ImportResult } from '../ports';
import type { CertificateState } from '../state';
import { arnsByRegion, type RenewalContext, type RenewOutcome } from './context';

/** What importing the current certificate everywhere did. */
export interface ImportedEverywhere {
  readonly state: CertificateState;
  readonly results: ImportResult[];
  readonly failures: string[];
}

/**
 * Starts reading what each region's recorded ARN holds, for the imports of a certificate about to be stored: the
 * reads run while its files are verified and written.
 */
export function prepareImports(ctx: RenewalContext, state: CertificateState): void {
  for (const region of ctx.regions) {
    const arn = state.acm[region]?.arn;
    if (arn !== undefined) ctx.deps.importer.prepare?.({ region, arn });
  }
}

/**
 * Imports the stored certificate into every region whose ACM entry does not hold its serial yet: in place into
 * the recorded ARN (a key type change gets a new ARN and retires the old one). One region failing does not stop
 * the others; the failures are returned for the caller to raise after it recorded what did succeed.
 */
export async function importEverywhere(
  ctx: RenewalContext,
  state: CertificateState,
): Promise<ImportedEverywhere> {
  const { deps, config, regions } = ctx;
  const current = state.current;
  if (!current || regions.length === 0) return { state, results: [], failures: [] };
  const files = await deps.store.getCertificate(config.id);
  if (!files)
    throw new AcmeAwsError(
      'store-failed',
      `the PEM files of "${config.id}" are missing although its state names serial ${current.serial}`,
    );
  const acm = { ...state.acm };
  const retired = [...state.retiredAcmArns];
  const results: ImportResult[] = [];
  const failures: string[] = [];
  for (const region of regions) {
    const recorded = acm[region];
    if (recorded && recorded.serial === current.serial) continue;
    try {
      const result = await deps.importer.importCertificate({
        region,
        certificateId: config.id,
        files,
        serial: current.serial,
        keyType: current.keyType,
        arn: recorded?.arn,
        arnKeyType: recorded?.keyType,
        tags: config.tags,
      });
      results.push(result);
      acm[region] = { arn: result.arn, serial: current.serial, keyType: current.keyType };
      if (result.replacedArn)
        retired.push({ region, arn: result.replacedArn, retiredAt: deps.clock.now().toISOString() });
    } catch (error) {
      failures.push(`${region}: ${describeError(error)}`);
    }
  }
  return { state: { ...state, acm, retiredAcmArns: retired }, results, failures };
}

/**
 * Not due and nothing in flight (a duplicate message, or the retry after an import failure): make ACM match the
 * stored certificate and place no order. A completed catch-up clears the earlier failure and is announced.
 */
export async function importOnly(ctx: RenewalContext, why: string): Promise<RenewOutcome> {
  const { deps, config, record } = ctx;
  const current = record.state.current;
  const imported = await importEverywhere(ctx, record.state);
  if (imported.failures.length > 0) {
    if (imported.results.length > 0) await record.save(imported.state);
    throw new AcmeAwsError(
      'import-failed',
      `ACM import failed for "${config.id}": ${imported.failures.join('; ')}`,
    );
  }
  if (imported.results.length > 0) {
    await record.save({
      ...imported.state,
      lastResult: 'imported',
      failures: 0,
      lastError: undefined,
      lastProblem: undefined,
      lastAttemptAt: deps.clock.now().toISOString(),
    });
    await deps.events.publish('Certificate Renewed', {
      id: config.id,
      domains: config.domains,
      reason: 'retry',
      importOnly: true,
      serial: current?.serial,
      notAfter: current?.notAfter,
      acm: arnsByRegion(imported.state.acm),
    });
  }
  return {
    id: config.id,
    result: imported.results.length > 0 ? 'imported' : 'up-to-date',
    reason: 'not-yet',
    serial: current?.serial,
    notAfter: current?.notAfter,
    imports: imported.results,
    notes: [why],
  };
}
