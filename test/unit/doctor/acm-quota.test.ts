import { describe, expect, it } from 'vitest';
import { checkAcmQuotas, projectAcmUse, renewalCadence } from '../../../functions/core/doctor/acm-quota';

describe('renewalCadence', () => {
  it.each([
    ['shortlived', undefined, 160 / 24, 110, 'profile'],
    ['tlsserver', undefined, 45, 13, 'profile'],
    ['classic', undefined, 90, 7, 'profile'],
    [undefined, undefined, 90, 7, 'default'],
    ['custom', 6, 6, 122, 'issued'],
    [undefined, 30, 30, 19, 'issued'],
  ])(
    'profile %s (issued %s days): %s-day lifetime, %s imports a year',
    (profile, issued, lifetime, perYear, source) => {
      const cadence = renewalCadence(profile, issued);
      expect(cadence.lifetimeDays).toBeCloseTo(lifetime);
      expect(cadence.source).toBe(source);
      expect(Math.ceil(365 / cadence.renewEveryDays)).toBe(perYear);
    },
  );
});

describe('ACM quota projection', () => {
  const many = (n: number, profile: string | undefined, acmRegions: string[] = []) =>
    Array.from({ length: n }, (_, i) => ({ id: `c${i}`, acmRegions, ...(profile ? { profile } : {}) }));

  it.each([
    [
      '36 short-lived certificates stay under 80 % of 5,000 imports',
      many(36, 'shortlived'),
      'ok',
      'ok',
      3960,
    ],
    ['44 short-lived certificates warn (over 80 %)', many(44, 'shortlived'), 'warn', 'ok', 4840],
    ['46 short-lived certificates exceed 5,000 imports', many(46, 'shortlived'), 'fail', 'ok', 5060],
    ['2,400 classic certificates warn on certificates held', many(2400, 'classic'), 'fail', 'warn', 16800],
    ['2,600 default certificates exceed the 2,500 held', many(2600, undefined), 'fail', 'fail', 18200],
  ])('%s', (_, entries, imports, held, perYear) => {
    const [projection] = projectAcmUse(entries, 'eu-west-1');
    expect(projection).toMatchObject({
      region: 'eu-west-1',
      importsPerYear: perYear,
      certificates: entries.length,
    });
    const [importCheck, heldCheck] = checkAcmQuotas([projection!]);
    expect([importCheck!.status, heldCheck!.status]).toEqual([imports, held]);
  });

  it('sums per region, counting each region an entry is imported into', () => {
    const projection = projectAcmUse(
      [
        { id: 'cf', profile: 'shortlived', acmRegions: ['us-east-1', 'eu-west-1'] },
        { id: 'web', acmRegions: [] },
      ],
      'eu-west-1',
    );
    expect(projection.map((p) => [p.region, p.importsPerYear, p.certificates])).toEqual([
      ['eu-west-1', 117, 2],
      ['us-east-1', 110, 1],
    ]);
  });

  it('judges against lower quotas given for an account', () => {
    const checks = checkAcmQuotas(projectAcmUse(many(10, 'shortlived'), 'us-east-1'), {
      importsPerYear: 1000,
      importedCertificates: 100,
    });
    expect(checks[0]).toMatchObject({ check: 'acm-imports', status: 'fail' });
    expect(checks[0]!.fix).toContain('Service Quotas');
  });
});
