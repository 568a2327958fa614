/**
 * The public entry of the `acme-ari-aws` npm package: the construct, its props, the CA presets, the one-stack
 * app, and the contracts a CDK app or an operator's code needs (the renewal message, the events, the errors).
 *
 * ```ts
 * import { AcmeCa, AcmeCertificates } from 'acme-ari-aws';
 * ```
 * @packageDocumentation
 */

export {
  CA_PRESETS,
  type CaConfig,
  type CertificateConfig,
  ConfigError,
  type ConfigProblem,
  type Inventory,
  KEY_TYPES,
  type KeyType,
  parseInventory,
} from '../functions/core/config/inventory';
export { DEPLOYMENT_KEY, type Deployment } from '../functions/core/contracts/deployment';
export {
  MANUAL_RENEWAL_EXAMPLE,
  parseRenewalMessage,
  RENEWAL_REASONS,
  type RenewalMessage,
  type RenewalReason,
  renewalMessageBody,
} from '../functions/core/contracts/renewal-message';
export { AcmeAwsError, type ErrorCode } from '../functions/core/errors';
export { AcmeCa, type AcmeCaOptions, type ExternalAccountBinding } from './lib/acme-ca';
export {
  type AcmeAlarmThresholds,
  AcmeCertificates,
  type AcmeCertificatesProps,
  DEFAULT_METRICS_NAMESPACE,
  EVENT_SOURCE,
} from './lib/acme-certificates';
export { RENEWER_TIMEOUT, SCHEDULER_TIMEOUT } from './lib/acme-function';
export { AcmeStack, type AcmeStackProps } from './lib/acme-stack';
export { LAMBDA_RUNTIME } from './lib/lambda-bundling';
export type { CaInput, CertificateInput, InventoryInput } from './lib/resolve-inventory';
