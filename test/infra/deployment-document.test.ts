import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_KEY, deploymentSchema } from '../../functions/core/contracts/deployment';
import { AcmeCertificates } from '../../infra/lib/acme-certificates';
import { scratchDir } from '../support/scratch';
import { cdkJsonContext } from './synth';

// deployment.json is what a local run (and doctor's permissions check) knows of the deployment: written by the
// construct with deploy-time values, which BucketDeployment fills in from the markers it is given.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const outdir = scratchDir('acme-deployment-doc-');

const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'Doc', { env: { account: '111122223333', region: 'eu-west-1' } });
const acme = new AcmeCertificates(stack, 'Certificates', {
  inventory: {
    certificates: [
      { id: 'www', domains: ['example.com'], hostedZones: { 'example.com': 'Z0123456789EXAMPLE' } },
    ],
  },
  serviceName: 'acme-ari-doc',
  alarmsWithoutSubscriber: true,
});
const template = app.synth().getStackByName('Doc').template as {
  Resources: Record<string, { Type: string; Properties: Record<string, Json> }>;
};

/** The deployment document with each marker replaced by the CloudFormation value BucketDeployment puts there. */
function deploymentDocument(): { raw: unknown; resolved: Record<string, Json> } {
  const upload = Object.values(template.Resources).find((r) => r.Type === 'Custom::CDKBucketDeployment')!;
  const markers = (upload.Properties.SourceMarkers as Record<string, Json>[]).reduce<Record<string, Json>>(
    (all, m) => Object.assign(all, m),
    {},
  );
  const file = readdirSync(outdir)
    .map((name) => join(outdir, name, DEPLOYMENT_KEY))
    .find((path) => existsSync(path));
  expect(file, 'no deployment.json asset in the cloud assembly').toBeDefined();
  const text = readFileSync(file!, 'utf8');
  const doc = JSON.parse(text) as Record<string, Json>;
  const resolved = Object.fromEntries(
    Object.entries(doc).map(([key, value]) => [
      key,
      typeof value === 'string' ? (markers[value] ?? value) : value,
    ]),
  );
  return { raw: doc, resolved };
}

const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('deployment.json', () => {
  const { raw, resolved: doc } = deploymentDocument();

  it('is a deployment document the CLI accepts (deploy-time values are strings there)', () => {
    expect(deploymentSchema.safeParse(raw).success).toBe(true);
  });

  it('names the renewer role, the state encryption and the first-import function, so doctor can judge the live policy', () => {
    expect(doc.keyMaterialKmsKeyId).toEqual({
      'Fn::GetAtt': [logicalIdOf(acme.keyMaterialKey as never), 'Arn'],
    });
    expect(doc.renewerRoleArn).toEqual({
      'Fn::GetAtt': [logicalIdOf(acme.renewerFunction.role as never), 'Arn'],
    });
    // The default state bucket is SSE-S3: no state key, and the document says so (doctor maps no KMS call then).
    expect(acme.key).toBeUndefined();
    expect(doc.stateKmsKeyArn).toBeUndefined();
    expect(doc.stateEncryption).toBe('s3-managed');
    expect(doc.firstImportFunctionName).toEqual({ Ref: logicalIdOf(acme.firstImportFunction as never) });
    expect(doc.zoneRoleExternalId).toBe('acme-ari-doc');
    // The account's default bus: the document leaves it out and the renewer's plan says `default`.
    expect(doc.eventBusName).toBeUndefined();
  });
});
