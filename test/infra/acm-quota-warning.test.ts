import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AcmeCertificates } from '../../infra/lib/acme-certificates';
import { scratchDir } from '../support/scratch';
import { cdkJsonContext } from './synth';

const ZONE = 'Z0123456789EXAMPLE';

function warnings(count: number, profile: string | undefined) {
  // Without an outdir, CDK synthesizes into a folder of its own under os.tmpdir() and leaves it there.
  const app = new App({
    outdir: scratchDir('acme-quota-'),
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new Stack(app, 'Quota', { env: { account: '111122223333', region: 'eu-west-1' } });
  new AcmeCertificates(stack, 'Certificates', {
    alarmsWithoutSubscriber: true,
    inventory: {
      certificates: Array.from({ length: count }, (_, i) => ({
        id: `c${i}`,
        domains: [`c${i}.example.com`],
        hostedZones: { [`c${i}.example.com`]: ZONE },
        ...(profile ? { profile } : {}),
      })),
    },
  });
  return Annotations.fromStack(stack);
}

describe('ACM quota projection at synth', () => {
  it('warns when short-lived certificates would exceed 5,000 imports a year in a region', () => {
    // 46 × about 110 imports a year = 5,060 in eu-west-1.
    warnings(46, 'shortlived').hasWarning(
      '/Quota/Certificates',
      Match.stringLikeRegexp(
        '^ACM quota: about 5060 imports a year projected in eu-west-1, against a quota of 5000',
      ),
    );
  });

  it('stays quiet for the same certificates on the 90-day default', () => {
    const found = warnings(46, undefined).findWarning('*', Match.stringLikeRegexp('ACM quota'));
    expect(found).toEqual([]);
  });
});
