/**
 * What `npm start` does, decided from facts gathered beforehand: deploy with `cdk deploy`, run the local demo, or
 * stop with the one thing to fix. Pure: every fact comes in as a value, so each credential source and each
 * refusal is a table row in the tests.
 */

/** Where the AWS SDK's credential chain found credentials (from the SDK's `$source` feature ids). */
export type CredentialSource =
  | 'environment'
  | 'web-identity'
  | 'profile'
  | 'sso'
  | 'process'
  | 'assume-role'
  | 'container'
  | 'instance-profile'
  | 'other';

/** The outcome of asking the credential chain, with a deadline. */
export type CredentialsFact =
  | { readonly found: true; readonly source: CredentialSource }
  | { readonly found: false; readonly why: 'none' | 'timeout'; readonly detail: string };

/** Whether the target environment has the CDK bootstrap stack (`CDKToolkit`). */
export type BootstrapFact =
  | { readonly state: 'present' }
  | { readonly state: 'missing'; readonly account: string; readonly region: string }
  | { readonly state: 'unknown'; readonly detail: string };

/** The inventory as `acme-ari validate` sees it, plus the example's placeholders still in it. */
export interface InventoryFact {
  readonly file: string;
  /** `acme-ari validate`'s own lines for an invalid file; empty when valid. */
  readonly problems: readonly string[];
  /** `path: value` of each placeholder left from the example (zone ids such as Z0123456789EXAMPLE). */
  readonly placeholders: readonly string[];
}

/** Everything the decision needs. */
export interface StartFacts {
  /** `ACME_ARI_MODE`, when set. */
  readonly mode?: string;
  readonly credentials: CredentialsFact;
  /** Asked only with credentials; absent otherwise. */
  readonly bootstrap?: BootstrapFact;
  /** Read only with credentials; absent otherwise. */
  readonly inventory?: InventoryFact;
  /** Someone hears the alarms: `notificationEmail` (cdk.json or `-c`), or `alarmsWithoutSubscriber=true`. */
  readonly alarmsHeard?: boolean;
  /** Arguments given after `npm start --`, passed on to `cdk deploy` unchanged. */
  readonly args: readonly string[];
}

/** What `npm start` does, with the lines it prints first (to stderr). */
export type StartDecision =
  | { readonly action: 'demo'; readonly notes: readonly string[] }
  | { readonly action: 'deploy'; readonly command: readonly string[]; readonly notes: readonly string[] }
  | { readonly action: 'stop'; readonly exitCode: 1 | 2; readonly notes: readonly string[] };

const SOURCE_NAMES: Record<CredentialSource, string> = {
  environment: 'environment variables (AWS_ACCESS_KEY_ID)',
  'web-identity': 'a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)',
  profile: 'a profile in ~/.aws/credentials or ~/.aws/config',
  sso: 'an IAM Identity Center (SSO) profile',
  process: 'a credential_process profile',
  'assume-role': 'a role_arn profile (sts:AssumeRole)',
  container: 'container credentials (ECS, CodeBuild)',
  'instance-profile': 'the EC2 instance profile (IMDS)',
  other: 'the AWS SDK credential chain',
};

/** Decides deploy, demo or stop; never adds `--require-approval never` the user did not give. */
export function decideStart(facts: StartFacts): StartDecision {
  const mode = facts.mode ?? '';
  if (mode !== '' && mode !== 'deploy' && mode !== 'demo') {
    return {
      action: 'stop',
      exitCode: 2,
      notes: [`ACME_ARI_MODE must be 'deploy' or 'demo', not '${mode}'`],
    };
  }
  const { credentials } = facts;
  if (mode === 'demo' || (mode === '' && !credentials.found)) {
    const why =
      mode === 'demo'
        ? 'ACME_ARI_MODE=demo'
        : credentials.found
          ? ''
          : credentials.why === 'timeout'
            ? `the AWS credential chain gave no answer in time (${credentials.detail})`
            : 'no AWS credentials (the AWS SDK credential chain found none)';
    return {
      action: 'demo',
      notes: [
        `${why}: running the local demo on the embedded test bed`,
        'to deploy instead, configure AWS credentials (any source the AWS CLI accepts) or set ACME_ARI_MODE=deploy',
      ],
    };
  }

  const notes = [
    credentials.found
      ? `AWS credentials from ${SOURCE_NAMES[credentials.source]}: deploying with cdk (ACME_ARI_MODE=demo for the local demo)`
      : `ACME_ARI_MODE=deploy, though the credential chain found none (${credentials.detail}): deploying with cdk`,
  ];
  const stop = (exitCode: 1 | 2, lines: readonly string[]): StartDecision => ({
    action: 'stop',
    exitCode,
    notes: [...notes, ...lines],
  });

  const inventory = facts.inventory;
  if (inventory && inventory.problems.length > 0) {
    return stop(2, [
      `${inventory.file} is not valid (the same check as \`acme-ari validate ${inventory.file}\`):`,
      ...inventory.problems,
    ]);
  }
  if (inventory && inventory.placeholders.length > 0) {
    return stop(2, [
      `${inventory.file} is still the example inventory; edit it before deploying (docs/deploy.md, "Configure the certificates"):`,
      ...inventory.placeholders.map((p) => `  ${p}`),
      'set each certificate\'s "domains" to your names and "hostedZones" to their Route 53 zone ids (aws route53 list-hosted-zones)',
    ]);
  }
  if (facts.alarmsHeard === false) {
    return stop(2, [
      'nobody would receive the alarms: give an e-mail, e.g. npm start -- -c notificationEmail=ops@example.com',
      '(or set "notificationEmail" in cdk.json; -c alarmsWithoutSubscriber=true deploys alarms nobody hears)',
    ]);
  }
  const bootstrap = facts.bootstrap;
  if (bootstrap?.state === 'missing') {
    return stop(1, [
      `aws://${bootstrap.account}/${bootstrap.region} is not bootstrapped for the CDK (no CDKToolkit stack); run once:`,
      `  npx cdk bootstrap aws://${bootstrap.account}/${bootstrap.region}`,
      'then npm start again',
    ]);
  }
  if (bootstrap?.state === 'unknown') {
    notes.push(
      `could not check the CDK bootstrap stack (${bootstrap.detail}); cdk deploy will say if it is missing`,
    );
  }
  const approval = facts.args.some((a) => a === '--require-approval' || a.startsWith('--require-approval='));
  if (!approval) {
    notes.push(
      'cdk asks before it creates IAM roles and policies; npm start -- --require-approval never skips that',
    );
  }
  return { action: 'deploy', command: ['npx', 'cdk', 'deploy', ...facts.args], notes };
}

/** Maps the SDK's `$source` feature ids (`@aws-sdk/types` `AwsSdkCredentialsFeatures`) to a source. */
export function credentialSourceOf(
  features: Readonly<Record<string, unknown>> | undefined,
): CredentialSource {
  const has = (id: string) => features !== undefined && id in features;
  // The most specific first: an SSO or process profile also carries CREDENTIALS_PROFILE.
  if (has('CREDENTIALS_PROFILE_SSO') || has('CREDENTIALS_SSO') || has('CREDENTIALS_PROFILE_SSO_LEGACY'))
    return 'sso';
  if (has('CREDENTIALS_PROFILE_PROCESS') || has('CREDENTIALS_PROCESS')) return 'process';
  if (has('CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN') || has('CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN')) {
    return 'web-identity';
  }
  if (has('CREDENTIALS_STS_ASSUME_ROLE') || has('CREDENTIALS_PROFILE_SOURCE_PROFILE')) return 'assume-role';
  if (has('CREDENTIALS_HTTP')) return 'container';
  if (has('CREDENTIALS_IMDS')) return 'instance-profile';
  if (has('CREDENTIALS_ENV_VARS')) return 'environment';
  if (has('CREDENTIALS_PROFILE')) return 'profile';
  return 'other';
}

/** RFC 2606 / RFC 6761 names reserved for examples, never a real certificate's. */
const RESERVED_NAME = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/i;

/** Placeholders left from the example inventory: zone ids ending in EXAMPLE, reserved example domains. */
export function findPlaceholders(inventory: unknown): string[] {
  const found: string[] = [];
  const certificates = (inventory as { certificates?: unknown } | null)?.certificates;
  if (!Array.isArray(certificates)) return found;
  certificates.forEach((entry: unknown, i) => {
    const cert = (entry ?? {}) as { domains?: unknown; hostedZones?: unknown };
    const zones = cert.hostedZones && typeof cert.hostedZones === 'object' ? cert.hostedZones : {};
    for (const [name, zone] of Object.entries(zones)) {
      if (typeof zone === 'string' && /EXAMPLE$/i.test(zone)) {
        found.push(`certificates[${i}].hostedZones["${name}"]: ${zone} is a placeholder zone id`);
      }
    }
    const domains = Array.isArray(cert.domains) ? cert.domains : [];
    domains.forEach((domain: unknown, j) => {
      if (typeof domain === 'string' && RESERVED_NAME.test(domain.replace(/^\*\./, ''))) {
        found.push(`certificates[${i}].domains[${j}]: ${domain} is a name reserved for examples`);
      }
    });
  });
  return found;
}
