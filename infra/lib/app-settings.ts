import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { CA_PRESETS, ConfigError, parseInventory } from '../../functions/core/config/inventory';
import { AcmeCa } from './acme-ca';
import type { InventoryInput } from './resolve-inventory';

/** What the CDK app reads from `cdk.json` / `-c key=value` context. */
export interface AppSettings {
  /** Name of the CloudFormation stack. */
  readonly stackName: string;
  /** Path of the certificates file, as given (used in error messages). */
  readonly certificatesFile: string;
  /** The certificates file's content, already validated. */
  readonly inventory: InventoryInput;
  /** CA for certificates that name none. */
  readonly ca: AcmeCa;
  /** How often the scheduler runs. */
  readonly scheduleInterval: Duration;
  /** E-mail subscribed to the alarm topic, if any. */
  readonly notificationEmail?: string;
  /** Deploy alarms nobody is subscribed to (context `alarmsWithoutSubscriber=true`), on purpose. */
  readonly alarmsWithoutSubscriber: boolean;
}

const UNITS: Record<string, (n: number) => Duration> = {
  minute: Duration.minutes,
  minutes: Duration.minutes,
  hour: Duration.hours,
  hours: Duration.hours,
  day: Duration.days,
  days: Duration.days,
};

/** Reads a schedule such as `rate(1 hour)`, `30 minutes` or `2 hours` into a duration. */
export function parseScheduleInterval(value: string): Duration | undefined {
  const match = /^\s*(?:rate\(\s*)?(\d+)\s+([a-z]+)\s*\)?\s*$/i.exec(value);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || !unit) return undefined;
  return unit(Number(match[1]));
}

/**
 * Reads and validates a certificates file with the inventory schema the functions use; a bad file throws a
 * `ConfigError` naming the file, the entry and the field (e.g. `certificates[1].domains[0]`).
 */
export function loadCertificatesFile(path: string, baseDir: string): InventoryInput {
  const absolute = isAbsolute(path) ? path : resolve(baseDir, path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '(file)', message: `cannot be read: ${(error as Error).message}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [
      { path: '(file)', message: `is not valid JSON: ${(error as Error).message}` },
    ]);
  }
  parseInventory(json, path);
  // The raw form goes on: the construct fills in its defaults (CA, regions) before validating again.
  return json as InventoryInput;
}

/** Reads every context value the app uses, reporting all bad values at once. */
export function readAppSettings(node: Node, baseDir: string): AppSettings {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const problems: { path: string; message: string }[] = [];

  const caValue = text('ca') ?? 'letsencrypt';
  if (!(caValue in CA_PRESETS) && !/^https:\/\/\S+$/.test(caValue)) {
    problems.push({
      path: 'ca',
      message: `must be one of ${Object.keys(CA_PRESETS).join(', ')} or an https:// ACME directory URL`,
    });
  }
  const scheduleValue = text('schedule') ?? 'rate(1 hour)';
  const scheduleInterval = parseScheduleInterval(scheduleValue);
  if (!scheduleInterval) {
    problems.push({ path: 'schedule', message: 'must look like "rate(1 hour)", "30 minutes" or "2 hours"' });
  }
  const notificationEmail = text('notificationEmail');
  if (notificationEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(notificationEmail)) {
    problems.push({ path: 'notificationEmail', message: 'must be an e-mail address' });
  }
  const silentValue = text('alarmsWithoutSubscriber') ?? 'false';
  if (silentValue !== 'true' && silentValue !== 'false') {
    problems.push({ path: 'alarmsWithoutSubscriber', message: 'must be true or false' });
  }
  const stackName = text('stackName') ?? 'AcmeAri';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    problems.push({ path: 'stackName', message: 'must be a CloudFormation stack name' });
  }
  if (problems.length > 0) throw new ConfigError('CDK context (cdk.json or -c)', problems);

  const certificatesFile = text('certificatesFile') ?? 'certificates.json';
  return {
    stackName,
    certificatesFile,
    inventory: loadCertificatesFile(certificatesFile, baseDir),
    ca: AcmeCa.fromContext(caValue),
    scheduleInterval: scheduleInterval!,
    ...(notificationEmail ? { notificationEmail } : {}),
    alarmsWithoutSubscriber: silentValue === 'true',
  };
}
