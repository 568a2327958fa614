import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createHttpsFetch } from '../functions/adapters/https-fetch';
import { createRuntime, type Runtime, type RuntimeConfig } from '../functions/composition/runtime';
import { type MotoServer, startMoto } from './moto';
import { type PebbleInstance, type PebbleOptions, startPebble } from './pebble';
import { type Route53DnsResponder, startRoute53DnsResponder } from './route53-dns-responder';
import type { WebFetch } from './trusting-fetch';

/**
 * The local test bed the demo, `--bed` runs, the benchmarks and the tests share: Pebble (with ARI) validating
 * through a DNS responder that serves moto's Route 53. Product code, not test code: the demo ships with it.
 */
export interface Bed {
  readonly pebble: PebbleInstance;
  /**
   * A second, independent CA (its own roots and accounts) validating through the same DNS responder, when started
   * with `secondPebble`: a certificate's failover CA. The bed's `fetch` trusts it too (one TLS CA for the bed).
   */
  readonly secondPebble?: PebbleInstance;
  readonly moto: MotoServer;
  readonly dns: Route53DnsResponder;
  /** The directory URL the client should use (the front's when there is one). */
  readonly directoryUrl: string;
  readonly fetch: WebFetch;
  readonly region: string;
  readonly aws: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  readonly clients: {
    s3: S3Client;
    route53: Route53Client;
    sqs: SQSClient;
    acm: (region?: string) => ACMClient;
  };
  /** Creates a versioned bucket, a queue and returns a runtime config pointing at them. */
  createStack(name?: string): Promise<{ bucket: string; queueUrl: string; config: RuntimeConfig }>;
  createZone(name: string): Promise<string>;
  putInventory(bucket: string, inventory: unknown): Promise<void>;
  runtime(config: RuntimeConfig): Runtime;
  /** Receives what the scheduler enqueued and shapes it as the SQS event Lambda would deliver. */
  drainQueue(queueUrl: string): Promise<SQSEvent>;
  /** Every TXT record set named `_acme-challenge.*` in every zone (should be none between renewals). */
  challengeRecords(): Promise<string[]>;
  /** ACM's view of a certificate; `serialHex` normalised (moto prints decimal, ACM colon-separated hex). */
  describeCertificate(arn: string, region?: string): Promise<{ serialHex?: string; domains: string[] }>;
  stop(): Promise<void>;
}

/** Something placed in front of Pebble (the tests' fault proxy): the client then talks to it instead. */
export interface PebbleFront {
  readonly directoryUrl: string;
  readonly fetch: WebFetch;
  stop(): Promise<void>;
}

/** Options for {@link startBed}. */
export interface BedOptions {
  readonly pebble?: Omit<PebbleOptions, 'dnsServer'>;
  /** Starts a second Pebble with these options (CA failover); none by default. */
  readonly secondPebble?: Omit<PebbleOptions, 'dnsServer'>;
  readonly region?: string;
  /** Starts what the client should talk to instead of Pebble itself. */
  readonly front?: (pebble: PebbleInstance) => Promise<PebbleFront>;
  /** Builds the runtime for a config; the tests run each function as its IAM role. @default createRuntime */
  readonly runtime?: (config: RuntimeConfig) => Runtime;
}

/** Starts moto, the Route 53 DNS responder and Pebble (resolving through it), on free loopback ports. */
export async function startBed(options: BedOptions = {}): Promise<Bed> {
  const region = options.region ?? 'us-east-1';
  const moto = await startMoto();
  const started: Array<{ stop(): Promise<void> }> = [moto];
  try {
    const dns = await startRoute53DnsResponder({ endpoint: moto.endpoint });
    started.push(dns);
    const pebble = await startPebble({ ...options.pebble, dnsServer: dns.address });
    started.push(pebble);
    const secondPebble = options.secondPebble
      ? await startPebble({ ...options.secondPebble, dnsServer: dns.address })
      : undefined;
    if (secondPebble) started.push(secondPebble);
    const front = options.front ? await options.front(pebble) : undefined;
    if (front) started.push(front);
    const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    const aws = { endpoint: moto.endpoint, region, credentials };
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    const route53 = new Route53Client(aws);
    const sqs = new SQSClient(aws);
    const acm = (r?: string) => new ACMClient({ ...aws, region: r ?? region });
    const directoryUrl = front?.directoryUrl ?? pebble.directoryUrl;
    const fetch = front?.fetch ?? pebble.fetch;
    // The functions' own HTTP client, as in Lambda, trusting the bed's one TLS CA (Pebble's and the fault proxy's).
    const functionsFetch = createHttpsFetch({ ca: pebble.caPem });
    let stacks = 0;
    return {
      pebble,
      ...(secondPebble ? { secondPebble } : {}),
      moto,
      dns,
      directoryUrl,
      fetch,
      region,
      aws,
      clients: { s3, route53, sqs, acm },
      async createStack(name) {
        const id = name ?? `bed-${++stacks}`;
        const bucket = `${id}-state`;
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s3.send(
          new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
        );
        const queue = await sqs.send(new CreateQueueCommand({ QueueName: `${id}-renewals` }));
        const queueUrl = queue.QueueUrl!;
        return {
          bucket,
          queueUrl,
          config: {
            bucket,
            queueUrl,
            region,
            ariConcurrency: 10,
            scheduleIntervalMs: 60 * 60_000,
            endpoint: moto.endpoint,
            credentials,
            fetch: functionsFetch,
            dnsPollIntervalMs: 50,
            // As POWERTOOLS_SERVICE_NAME in Lambda: the acme-ari:managed-by tag the IAM policies condition on.
            serviceName: `acme-ari-${id}`,
            // As KEY_MATERIAL_KMS_KEY_ID in Lambda, so the IAM simulation judges key material under its own key
            // (moto stores the key id without using it).
            keyMaterialKmsKeyId: `arn:aws:kms:${region}:123456789012:key/${id}-key-material`,
            // Tests force the same certificate several times in a row; the limit has its own unit tests.
            forcedRenewalMinIntervalMs: 0,
          },
        };
      },
      async createZone(name) {
        const zone = await route53.send(
          new CreateHostedZoneCommand({ Name: name, CallerReference: `${name}-${Date.now()}` }),
        );
        return zone.HostedZone!.Id!.replace('/hostedzone/', '');
      },
      async putInventory(bucket, inventory) {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: 'inventory.json',
            Body: JSON.stringify(inventory),
            ContentType: 'application/json',
          }),
        );
      },
      runtime: options.runtime ?? createRuntime,
      async drainQueue(queueUrl) {
        const records: SQSEvent['Records'] = [];
        for (;;) {
          const received = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
          );
          const messages = received.Messages ?? [];
          if (messages.length === 0) break;
          for (const m of messages) {
            records.push({
              messageId: m.MessageId!,
              receiptHandle: m.ReceiptHandle!,
              body: m.Body ?? '',
              attributes: {} as SQSEvent['Records'][number]['attributes'],
              messageAttributes: {},
              md5OfBody: m.MD5OfBody ?? '',
              eventSource: 'aws:sqs',
              eventSourceARN: `arn:aws:sqs:${region}:123456789012:queue`,
              awsRegion: region,
            });
          }
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
        return { Records: records };
      },
      async challengeRecords() {
        const { ListHostedZonesCommand } = await import('@aws-sdk/client-route-53');
        const zones = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
        const names: string[] = [];
        for (const zone of zones) {
          const sets = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.Id! }));
          for (const set of sets.ResourceRecordSets ?? []) {
            if (set.Name?.startsWith('_acme-challenge.')) names.push(`${set.Name} ${set.Type}`);
          }
        }
        return names;
      },
      async describeCertificate(arn, r) {
        const out = await acm(r).send(new DescribeCertificateCommand({ CertificateArn: arn }));
        const serial = out.Certificate?.Serial;
        const serialHex =
          serial === undefined
            ? undefined
            : /^\d+$/.test(serial)
              ? BigInt(serial).toString(16)
              : serial.replaceAll(':', '').toLowerCase().replace(/^0+/, '');
        return { serialHex, domains: out.Certificate?.SubjectAlternativeNames ?? [] };
      },
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => {});
      },
    };
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw error;
  }
}
