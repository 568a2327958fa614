/**
 * ACME Renewal Information (RFC 9773): the certificate identifier, fetching and validating renewalInfo, choosing a
 * renewal time within the CA's window, and the renew/not-yet decision.
 */
export { CERT_ID_PATTERN, type CertIdInput, certId } from './cert-id';
export {
  type DecideRenewalInput,
  decideRenewal,
  emergencyTime,
  type RenewalDecision,
  ratioRenewalTime,
} from './decide-renewal';
export {
  ARI_TEMPORARY_RETRY_MS,
  type FetchRenewalInfoInput,
  fetchRenewalInfo,
  RenewalInfoError,
} from './fetch-renewal-info';
export {
  ARI_CHECK_JITTER,
  ARI_DEFAULT_CHECK_INTERVAL_MS,
  ARI_MAX_CHECK_INTERVAL_MS,
  ARI_MIN_CHECK_INTERVAL_MS,
  ariNextCheck,
  jitterNextCheck,
} from './next-check';
export { parseRenewalInfo, type RenewalInfo, type RenewalWindow } from './renewal-info';
export {
  ARI_REQUEST_BURST,
  ARI_REQUESTS_PER_SECOND,
  perKeyTokenBuckets,
  type RequestRate,
  type TokenBucketOptions,
} from './request-rate';
export { type PreviousSelection, type SelectRenewalTimeInput, selectRenewalTime } from './select-time';
