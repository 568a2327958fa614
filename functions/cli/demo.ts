import { realSleep } from '../adapters/aws-retry';
import { AcmeTransport, ensureAccount, revokeCertificate } from '../core/acme';
import { fetchRenewalInfo } from '../core/ari';
import { AcmeAwsError } from '../core/errors';
import { parseCertificate } from '../core/pki';
import type { CertificateState } from '../core/renewal/state';
import { type DemoBed, issueDemoInventory, type ObservedOrder, startDemoBed } from './demo-bed';
import { collectStatus, renderStatus, type StatusReport, shortTime } from './status-report';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Receives each progress line and the final table. */
  readonly out: (line: string) => void;
  /** Aborting stops the bed at once; `runDemo` then rejects with the abort reason. */
  readonly signal?: AbortSignal;
  /** @default the certificate issued first */
  readonly revoke?: string;
}

/** What the demo did, for its caller (the test asserts on it). */
export interface DemoResult {
  readonly report: StatusReport;
  /** The table printed last, same renderer as `acme-ari status`. */
  readonly table: string;
  readonly revoked: string;
  /** The certID the renewal of the revoked certificate carried in `replaces`. */
  readonly replaced?: string;
  /** Loopback ports the bed listened on; all closed when `runDemo` returns. */
  readonly ports: readonly number[];
  readonly seconds: number;
}

function assertDemo(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AcmeAwsError('acme-protocol', `demo: ${message}`);
}

/** Receives one line of the demo's output. */
type Say = (line: string) => void;

/**
 * The local demo: starts the test bed, issues the demo inventory through the real scheduler and renewer handlers,
 * shows each certificate's ARI window, revokes one so the CA moves its window into the past (RFC 9773 §4.2), lets
 * the scheduler find it due, renews it with `replaces`, prints the status table and stops everything it started.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const say = options.out;
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
  options.signal?.throwIfAborted();

  step(
    say,
    'Starting the local test bed (Pebble with ARI, moto for the AWS APIs, a DNS responder for Route 53)',
  );
  let demo: DemoBed | undefined;
  const onAbort = () => void demo?.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    demo = await startDemoBed({ progress: (line) => say(`  ${line}`) });
    options.signal?.throwIfAborted();

    step(say, 'Scheduler (real handler) → SQS → renewer (real handler): first issuance');
    await issueDemoInventory(demo, (line) => say(`  ${line}`));
    await showIssued(demo, say);
    step(say, 'ARI (RFC 9773): the window each CA suggests, and the time chosen at random inside it');
    await showAriWindows(demo, say);

    const target = options.revoke ?? demo.inventory.certificates[0]!.id;
    step(say, `CA-directed early renewal: revoking ${target} at the CA, as in a mass-revocation incident`);
    const before = await revokeAtCa(demo, target, say);
    step(say, 'Next scheduler run (real handler), then the renewer (real handler)');
    const order = await renewRevoked(demo, target, before, say);

    step(say, `Status (same table as \`acme-ari status\`), after ${elapsed()} s`);
    const report = await statusAfterRenewal(demo, target, order);
    const table = renderStatus(report);
    say(table);

    const ports = demo.ports;
    await demo.stop();
    say(`\nStopped the test bed (moto, DNS responder, Pebble). Demo finished in ${elapsed()} s.`);
    return {
      report,
      table,
      revoked: target,
      replaced: order?.replaces,
      ports,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    // Stop first, so nothing the demo started outlives it, whatever failed.
    await demo?.stop();
    if (options.signal?.aborted) throw options.signal.reason;
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function step(say: Say, title: string): void {
  say(`\n== ${title}`);
}

/** Each issued certificate: names, key type, expiry and the ACM ARNs it was imported under. */
async function showIssued(demo: DemoBed, say: Say): Promise<void> {
  for (const c of demo.inventory.certificates) {
    const state = await demo.runtime.store.getState(c.id);
    assertDemo(state?.current !== undefined, `${c.id} was not issued`);
    const arns = Object.entries(state.acm).map(([region, e]) => `${region} ${e.arn.split('/').pop()}`);
    say(
      `  ${c.id}: ${c.domains.join(', ')} (${c.keyType}) expires ${shortTime(state.current.notAfter)}; ACM ${arns.join(', ')}`,
    );
  }
}

/** Each certificate's stored ARI window, selected time and next check, or why it has none. */
async function showAriWindows(demo: DemoBed, say: Say): Promise<void> {
  for (const c of demo.inventory.certificates) {
    const state = await demo.runtime.store.getState(c.id);
    const ari = state?.ari;
    if (!ari) {
      say(
        `  ${c.id}: no ARI answer (${state?.ariError ?? 'not advertised'}); the 1/3-of-lifetime rule applies`,
      );
      continue;
    }
    say(
      `  ${c.id}: window ${shortTime(ari.windowStart)} – ${shortTime(ari.windowEnd)}, renew at ${shortTime(ari.selectedTime)}, ask again after ${shortTime(ari.nextCheckAt)}`,
    );
  }
}

/**
 * Revokes the target at the CA, shows the window the CA moved into the past and marks the stored ARI check due
 * now instead of waiting for its Retry-After; returns the state from before the revocation.
 */
async function revokeAtCa(demo: DemoBed, target: string, say: Say): Promise<CertificateState> {
  const { runtime, config } = demo;
  const before = (await runtime.store.getState(target))!;
  const files = (await runtime.store.getCertificate(target))!;
  const account = await runtime.store.getAccount(before.current!.directoryUrl);
  assertDemo(account !== undefined, 'the ACME account was not stored');
  const transport = new AcmeTransport({
    directoryUrl: before.current!.directoryUrl,
    fetch: config.fetch!,
    clock: { now: () => new Date() },
    sleep: realSleep,
  });
  const { client } = await ensureAccount(transport, { stored: account });
  await revokeCertificate(client, parseCertificate(files.certPem).der);
  say(`  revoked serial ${before.current!.serial} (certID ${before.current!.certId})`);
  assertDemo(demo.renewalInfoUrl !== undefined, 'the CA does not advertise renewalInfo');
  const now = new Date();
  const { info } = await fetchRenewalInfo({
    fetch: config.fetch!,
    renewalInfoUrl: demo.renewalInfoUrl,
    certId: before.current!.certId!,
    now,
  });
  say(
    `  the CA's renewalInfo now says: window ${shortTime(info.window.start.toISOString())} – ${shortTime(info.window.end.toISOString())} (already started: renew now)`,
  );
  say(
    `  the scheduler would ask again after the Retry-After it stored (${shortTime(before.ari?.nextCheckAt)}); the demo marks that check due now instead of waiting`,
  );
  const read = (await runtime.store.readState(target))!;
  await runtime.store.putStateIf(
    target,
    { ...read.state, ari: { ...read.state.ari!, nextCheckAt: now.toISOString() } },
    read.etag,
  );
  return before;
}

/** One scheduler pass that must find the target due through ARI, then the renewer; returns the order it placed. */
async function renewRevoked(
  demo: DemoBed,
  target: string,
  before: CertificateState,
  say: Say,
): Promise<ObservedOrder | undefined> {
  const ordersBefore = demo.orders.length;
  const { requests, event } = await demo.schedule();
  say(
    `  scheduler enqueued ${requests.map((r) => `${r.id} (${r.reason})`).join(', ') || 'nothing'}; the others are not due yet`,
  );
  assertDemo(
    requests.some((r) => r.id === target && r.reason === 'ari-window'),
    `the scheduler did not find ${target} due through ARI`,
  );
  const renewals = await demo.renew(event);
  const order = demo.orders.slice(ordersBefore).find((o) => o.status < 300);
  for (const r of renewals) {
    const sameArns = Object.entries(before.acm).every(([region, e]) => r.state.acm[region]?.arn === e.arn);
    say(
      `  renewer renewed ${r.id} (${r.reason}) in ${r.ms} ms: serial ${before.current!.serial} → ${r.state.current?.serial}, ${sameArns ? 're-imported into the same ACM ARN' : 'imported under a new ACM ARN'}`,
    );
  }
  say(
    order?.replaces
      ? `  its newOrder carried "replaces": "${order.replaces}" (the revoked certificate), so the CA links the two`
      : `  its newOrder carried no "replaces"${(await demo.runtime.store.getState(target))?.replacesDropped ? ' (dropped after the CA refused it)' : ''}`,
  );
  return order;
}

/** The status report, with the certID the renewed certificate replaced on its row. */
async function statusAfterRenewal(
  demo: DemoBed,
  target: string,
  order: ObservedOrder | undefined,
): Promise<StatusReport> {
  const collected = await collectStatus(demo.runtime.store, new Date(), demo.runtime.index);
  return {
    ...collected,
    certificates: collected.certificates.map((row) =>
      row.id === target && order?.replaces ? { ...row, replaced: order.replaces } : row,
    ),
  };
}
