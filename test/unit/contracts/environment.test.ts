import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/config/inventory';
import { functionEnvironment, parseEnvironment } from '../../../functions/core/contracts/environment';

// The construct builds each function's environment with functionEnvironment and the function parses it with
// parseEnvironment: a variable one side sets and the other never reads cannot be written.
describe('function environment contract', () => {
  it('renders what the construct passes as the strings Lambda delivers, and parses them back', () => {
    const env = functionEnvironment('renewer', {
      STATE_BUCKET: 'state-bucket',
      SCHEDULE_INTERVAL_MINUTES: 30,
      FORCED_RENEWAL_MIN_INTERVAL_MINUTES: 0,
      FIRST_IMPORT_FUNCTION_NAME: 'first-import',
    });
    expect(env).toEqual({
      STATE_BUCKET: 'state-bucket',
      SCHEDULE_INTERVAL_MINUTES: '30',
      FORCED_RENEWAL_MIN_INTERVAL_MINUTES: '0',
      FIRST_IMPORT_FUNCTION_NAME: 'first-import',
    });
    const parsed = parseEnvironment('renewer', env);
    expect(parsed.SCHEDULE_INTERVAL_MINUTES).toBe(30);
    expect(parsed.FORCED_RENEWAL_MIN_INTERVAL_MINUTES).toBe(0);
  });

  it('refuses a variable the function does not read', () => {
    expect(() =>
      functionEnvironment('scheduler', {
        STATE_BUCKET: 'b',
        RENEWAL_QUEUE_URL: 'q',
        // The scheduler has no use of key material: the construct must not hand it the key.
        ...({ KEY_MATERIAL_KMS_KEY_ID: 'arn:aws:kms:us-east-1:1:key/x' } as object),
      }),
    ).toThrow(/KEY_MATERIAL_KMS_KEY_ID: is not a variable this function reads/);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      parseEnvironment('scheduler', {
        STATE_BUCKET: '',
        ARI_CONCURRENCY: '0',
        PER_CERTIFICATE_METRICS: 'some',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path).sort()).toEqual([
      'ARI_CONCURRENCY',
      'PER_CERTIFICATE_METRICS',
      'RENEWAL_QUEUE_URL',
      'STATE_BUCKET',
    ]);
  });
});
