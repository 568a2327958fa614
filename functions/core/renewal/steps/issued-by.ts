import type { CertificateState } from '../state';
import type { CaSession } from './ca-session';
import type { RenewalContext } from './context';

type Current = NonNullable<CertificateState['current']>;
/** Who issued a certificate, as its state records it. */
export type IssuedBy = NonNullable<Current['issuedBy']>;

/** The CA an order goes to: its inventory name, directory and our account there. */
export interface OrderTarget {
  readonly caName: string;
  readonly directoryUrl: string;
  readonly accountUrl: string;
}

/** `replaces` for one order: the predecessor's certID, or why it is withheld (nothing at all without one). */
export type ReplacesChoice =
  | { readonly certId: string }
  | { readonly withheld: string }
  | Record<string, never>;

/**
 * Whether an order may name the predecessor in `replaces`: only when the same CA (inventory name and directory),
 * the same account, and the issuer key identifier its certID names is the predecessor's own. A CA that never issued
 * the predecessor cannot replace it: Pebble answers another account's replacement with 403 and an unknown issuer's
 * with 400/500, and a failover that sent it anyway would turn the ARI extension into a failed renewal.
 * @see RFC 9773 §5 "the server SHOULD check that the identified certificate and the New Order request correspond
 *   to the same ACME Account"
 */
export function chooseReplaces(current: Current | undefined, target: OrderTarget): ReplacesChoice {
  if (current === undefined) return {};
  const by = current.issuedBy;
  if (current.certId === undefined)
    return { withheld: 'the predecessor has no certID (no AKI keyIdentifier)' };
  if (by !== undefined && by.ca !== target.caName) {
    return { withheld: `the predecessor was issued by CA "${by.ca}"; this order goes to "${target.caName}"` };
  }
  if (current.directoryUrl !== target.directoryUrl) {
    return { withheld: `the predecessor came from ${current.directoryUrl}, not ${target.directoryUrl}` };
  }
  if (current.accountUrl !== target.accountUrl) {
    return {
      withheld: `the predecessor was ordered by account ${current.accountUrl}, not ${target.accountUrl}`,
    };
  }
  const aki = current.certId.split('.')[0];
  if (by?.authorityKeyId !== undefined && by.authorityKeyId !== aki) {
    return {
      withheld: `the certID names issuer key ${aki}, not the predecessor's issuer key ${by.authorityKeyId}`,
    };
  }
  return { certId: current.certId };
}

/** The order target of one attempt at its CA. */
export function orderTarget(ctx: RenewalContext, session: CaSession): OrderTarget {
  return { caName: ctx.caName, directoryUrl: ctx.ca.directoryUrl, accountUrl: session.client.accountUrl };
}

/**
 * What the new certificate's state records about its issuer: the CA's inventory name, the issuer key identifier
 * (base64url, as in its certID), the failover that led to this CA, and why `replaces` was withheld.
 */
export function issuedByRecord(
  ctx: RenewalContext,
  session: CaSession,
  authorityKeyId: Uint8Array | undefined,
): IssuedBy {
  const choice = chooseReplaces(ctx.record.state.current, orderTarget(ctx, session));
  return {
    ca: ctx.caName,
    ...(authorityKeyId?.byteLength
      ? { authorityKeyId: Buffer.from(authorityKeyId).toString('base64url') }
      : {}),
    ...(ctx.failover ? { failover: ctx.failover } : {}),
    ...('withheld' in choice ? { replacesWithheld: choice.withheld } : {}),
  };
}
