import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { expect } from 'vitest';
import type { Runtime, RuntimeConfig } from '../../../functions/composition/runtime';
import { mapLimit } from '../../../functions/core/concurrency';
import { parseCertificate } from '../../../functions/core/pki';
import type { CertificateState } from '../../../functions/core/renewal/state';
import { createRenewerHandler } from '../../../functions/handlers/renewer';
import { createSchedulerHandler } from '../../../functions/handlers/scheduler';
import { faultMatrix, type MatrixRow } from '../../../scripts/faults-matrix';
import { pebbleRootsPem } from '../../../testbed/pebble';
import { type Bed, type BedOptions, startBed } from '../bed';
import { captureOutput } from '../output/capture-output';
import { type AwsFaultProxy, startAwsFaultProxy } from './faults-aws-proxy';

/** What a certificate looks like from the outside: S3 PEM, state serial, ACM per region. */
export interface Snapshot {
  readonly id: string;
  readonly certPem?: string;
  readonly serial?: string;
  readonly acm: Readonly<Record<string, { arn: string; serialHex?: string }>>;
}

/** The loud-failure signals of one scenario. */
export interface FailureSignals {
  /** `Certificate Renewal Failed` events for the certificate (details as published). */
  readonly events: Array<Record<string, unknown>>;
  /** `RenewalFailed` metric data points written by the handler. */
  readonly metrics: number;
}

/** A mark in the recorded traffic and output, to ask what happened since. */
export interface Mark {
  readonly awsCalls: number;
  readonly caRequests: number;
  readonly output: number;
}

/** One shared test bed per fault file: Pebble behind the fault proxy, moto behind the AWS fault proxy. */
export interface FaultWorld {
  readonly bed: Bed;
  readonly aws: AwsFaultProxy;
  readonly bucket: string;
  readonly queueUrl: string;
  /** The runtime config: every AWS call goes through {@link FaultWorld.aws}, every CA call through the proxy. */
  readonly config: RuntimeConfig;
  readonly matrix: ReturnType<typeof faultMatrix>;
  runtime(config?: RuntimeConfig): Runtime;
  /** One scheduler pass through the handler; returns its result and what it enqueued (drained). */
  schedule(
    config?: RuntimeConfig,
  ): Promise<{ result: { checked: number; enqueued: number; problems: number }; event: SQSEvent }>;
  /** Runs the renewer handler over the records, `concurrency` Lambda invocations (batch size 1) at a time. */
  renew(event: SQSEvent, config?: RuntimeConfig, concurrency?: number): Promise<SQSBatchResponse>;
  /** An SQS event carrying one renewal message. */
  message(id: string, reason?: string, force?: boolean): SQSEvent;
  state(id: string): Promise<CertificateState | undefined>;
  snapshot(id: string): Promise<Snapshot>;
  mark(): Mark;
  signals(id: string, since: Mark): FailureSignals;
  /** What the functions wrote (log lines, EMF metrics) since the mark. */
  outputSince(since: Mark): string;
  /** newOrder requests the CA saw since the mark. */
  newOrders(since: Mark): Promise<Array<{ payload?: unknown }>>;
  /**
   * Makes the next renewals answer fresh challenges: deactivates the account's valid authorizations, which
   * Pebble would otherwise reuse about 1 % of the time (no change batch, no challenge). For a scenario whose
   * fault sits on the DNS or challenge path; call it before the mark. Returns the identifiers deactivated.
   */
  deactivateAuthorizations(): Promise<string[]>;
  /** Why `after` is not `before` kept in place (`'kept'`) or properly renewed (`'renewed'`); empty when fine. */
  lost(before: Snapshot, expectation: 'kept' | 'renewed'): Promise<string[]>;
  /** What the scenario left behind that it should not have; empty when nothing. */
  leaked(id: string): Promise<string[]>;
  /** Records the row, then asserts both invariants (so a failing row still reaches the table). */
  verdict(
    row: Omit<MatrixRow, 'area' | 'nothingLost' | 'nothingLeaked'>,
    lost: string[],
    leaked: string[],
  ): void;
  objectExists(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

let messages = 0;

/** Starts the bed, the AWS fault proxy and a stack, and uploads the inventory built from the zones. */
export async function startFaultWorld(
  area: string,
  options: BedOptions & {
    zones: readonly string[];
    /** `trustAnchors`: the Pebble's roots (new on every start), for the Pebble CA entry. */
    inventory: (zones: Record<string, string>, directoryUrl: string, trustAnchors: string[]) => unknown;
  },
): Promise<FaultWorld> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const output = captureOutput();
  const bed = await startBed({ faultProxy: true, ...options });
  const aws = await startAwsFaultProxy(bed.moto.endpoint);
  const stack = await bed.createStack(area);
  const config: RuntimeConfig = { ...stack.config, endpoint: aws.endpoint };
  const zones: Record<string, string> = {};
  for (const zone of options.zones) zones[zone] = await bed.createZone(zone);
  await bed.putInventory(
    stack.bucket,
    options.inventory(zones, bed.directoryUrl, await pebbleRootsPem(bed.pebble)),
  );
  const matrix = faultMatrix(area);
  const s3 = bed.clients.s3;

  const runtime = (cfg: RuntimeConfig = config) => bed.runtime(cfg);
  const objectExists = async (key: string) => {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  };
  const readObject = async (key: string) => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
      return await out.Body?.transformToString();
    } catch {
      return undefined;
    }
  };
  const state = (id: string) => runtime().store.getState(id);

  const world: FaultWorld = {
    bed,
    aws,
    bucket: stack.bucket,
    queueUrl: stack.queueUrl,
    config,
    matrix,
    runtime,
    async schedule(cfg = config) {
      const rt = runtime(cfg);
      const result = await createSchedulerHandler(() => rt)();
      return { result, event: await bed.drainQueue(stack.queueUrl) };
    },
    async renew(event, cfg = config, concurrency = 1) {
      const rt = runtime(cfg);
      const handler = createRenewerHandler(() => rt);
      const responses = await mapLimit(event.Records, concurrency, (record) =>
        handler({ Records: [record] }, { awsRequestId: `req-${++messages}` }),
      );
      return { batchItemFailures: responses.flatMap((r) => r.batchItemFailures) };
    },
    message(id, reason = 'forced', force = reason === 'forced') {
      return {
        Records: [
          {
            messageId: `m-${++messages}`,
            receiptHandle: 'r',
            body: JSON.stringify({ id, reason, ...(force ? { force: true } : {}) }),
            attributes: {} as SQSEvent['Records'][number]['attributes'],
            messageAttributes: {},
            md5OfBody: '',
            eventSource: 'aws:sqs',
            eventSourceARN: `arn:aws:sqs:${bed.region}:123456789012:${area}-renewals`,
            awsRegion: bed.region,
          },
        ],
      };
    },
    state,
    async snapshot(id) {
      const s = await state(id);
      const acm: Record<string, { arn: string; serialHex?: string }> = {};
      for (const [region, entry] of Object.entries(s?.acm ?? {})) {
        const described = await bed.describeCertificate(entry.arn, region);
        acm[region] = { arn: entry.arn, serialHex: described.serialHex };
      }
      return {
        id,
        certPem: await readObject(`certificates/${id}/cert.pem`),
        serial: s?.current?.serial,
        acm,
      };
    },
    mark: () => ({
      awsCalls: aws.calls.length,
      caRequests: bed.proxy!.requests.length,
      output: output.text().length,
    }),
    outputSince: (since) => output.text().slice(since.output),
    signals(id, since) {
      const events: Array<Record<string, unknown>> = [];
      for (const call of aws.calls.slice(since.awsCalls)) {
        if (call.target !== 'AWSEvents.PutEvents') continue;
        const entries =
          (JSON.parse(call.body) as { Entries?: Array<{ DetailType?: string; Detail?: string }> }).Entries ??
          [];
        for (const entry of entries) {
          if (entry.DetailType !== 'Certificate Renewal Failed') continue;
          const detail = JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>;
          if (detail.id === id) events.push(detail);
        }
      }
      const metrics =
        output
          .text()
          .slice(since.output)
          .match(/"RenewalFailed":1\b/g)?.length ?? 0;
      return { events, metrics };
    },
    async newOrders(since) {
      const directory = (await (await bed.fetch(bed.directoryUrl)).json()) as { newOrder: string };
      const path = new URL(directory.newOrder).pathname;
      return bed
        .proxy!.requests.slice(since.caRequests)
        .filter((r) => r.method === 'POST' && r.path === path);
    },
    deactivateAuthorizations: () => bed.deactivateAuthorizations(stack.bucket),
    async lost(before, expectation) {
      const after = await world.snapshot(before.id);
      const problems: string[] = [];
      const files = after.certPem ? parseCertificate(after.certPem) : undefined;
      if (!files) return ['no certificate in S3'];
      if (files.notAfter.getTime() <= Date.now()) problems.push('the stored certificate has expired');
      if (files.serialHex !== after.serial)
        problems.push(`S3 serial ${files.serialHex} ≠ state serial ${after.serial}`);
      if (expectation === 'kept') {
        if (after.certPem !== before.certPem) problems.push('the S3 PEM changed');
        if (after.serial !== before.serial) problems.push('the state serial changed');
      } else if (after.serial === before.serial) problems.push('the certificate was not replaced');
      for (const [region, was] of Object.entries(before.acm)) {
        const now = after.acm[region];
        if (!now) problems.push(`ACM ${region} entry disappeared`);
        else {
          if (now.arn !== was.arn) problems.push(`ACM ${region} ARN changed`);
          const want = (expectation === 'kept' ? before.serial : after.serial)?.replace(/^0+/, '');
          if (now.serialHex !== want)
            problems.push(`ACM ${region} serves ${now.serialHex}, expected ${want}`);
        }
      }
      return problems;
    },
    async leaked(id) {
      const problems: string[] = [];
      const records = await bed.challengeRecords();
      if (records.length > 0) problems.push(`challenge records left: ${records.join(', ')}`);
      if (await objectExists(`leases/${id}.json`)) problems.push('lease object left');
      const pendingKey = await objectExists(`certificates/${id}/pending-key.pem`);
      const pendingOrder = (await state(id))?.pendingOrder;
      if (pendingKey && !pendingOrder) problems.push('pending key left without a pending order to resume');
      return problems;
    },
    verdict(row, lost, leaked) {
      matrix.record({
        ...row,
        nothingLost: lost.length === 0,
        nothingLeaked: leaked.length === 0,
      });
      expect({ lost, leaked }).toEqual({ lost: [], leaked: [] });
    },
    objectExists,
    async stop() {
      matrix.flush();
      await aws.stop().catch(() => {});
      await bed.stop();
      output.stop();
    },
  };
  return world;
}

/** Asserts the loud-failure signals and returns the code the event carried. */
export function expectLoudFailure(signals: FailureSignals): string {
  expect(signals.events.length).toBeGreaterThanOrEqual(1);
  expect(signals.metrics).toBeGreaterThanOrEqual(1);
  return String(signals.events.at(-1)!.code);
}
