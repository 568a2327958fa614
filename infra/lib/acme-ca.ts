import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { CA_PRESETS } from '../../functions/core/config/inventory';

/** External Account Binding credentials: the key id in plain text, the HMAC key only as a Secrets Manager secret. */
export interface ExternalAccountBinding {
  /** The EAB key identifier the CA gave you (not secret). */
  readonly keyId: string;
  /** The secret holding the base64url HMAC key; the renewer is granted read access to it and nothing else. */
  readonly hmacSecret: ISecret;
}

/** Options shared by every CA. */
export interface AcmeCaOptions {
  /**
   * Contact URLs registered with the ACME account.
   * @default - no contact
   */
  readonly contact?: readonly string[];
  /**
   * External Account Binding, required by ZeroSSL and Google Trust Services.
   * @default - no EAB
   */
  readonly eab?: ExternalAccountBinding;
  /**
   * Common name of the root or intermediate to prefer among alternate chains.
   * @default - the CA's default chain
   */
  readonly preferredChain?: string;
  /**
   * The CA's root certificates, PEM, one per entry: every issued chain must lead to one of them, or it is never
   * stored or imported. Required for a CA given by directory URL; for a preset it replaces the built-in roots.
   * @default - the preset's published roots (none for a directory URL, which then fails validation)
   */
  readonly trustAnchors?: readonly string[];
}

/**
 * An ACME certificate authority: a preset (Let's Encrypt production or staging, ZeroSSL, Google Trust Services)
 * or any RFC 8555 directory URL.
 * @see RFC 8555 §7.1.1 (directory)
 */
export class AcmeCa {
  /** Let's Encrypt production. */
  static letsEncrypt(options: AcmeCaOptions = {}): AcmeCa {
    return new AcmeCa('letsencrypt', CA_PRESETS.letsencrypt, options);
  }

  /** Let's Encrypt staging: untrusted certificates, generous rate limits; use it to try a deployment. */
  static letsEncryptStaging(options: AcmeCaOptions = {}): AcmeCa {
    return new AcmeCa('letsencrypt-staging', CA_PRESETS['letsencrypt-staging'], options);
  }

  /** ZeroSSL, which requires External Account Binding. */
  static zeroSsl(eab: ExternalAccountBinding, options: Omit<AcmeCaOptions, 'eab'> = {}): AcmeCa {
    return new AcmeCa('zerossl', CA_PRESETS.zerossl, { ...options, eab });
  }

  /** Google Trust Services, which requires External Account Binding. */
  static googleTrustServices(eab: ExternalAccountBinding, options: Omit<AcmeCaOptions, 'eab'> = {}): AcmeCa {
    return new AcmeCa('google-trust-services', CA_PRESETS['google-trust-services'], { ...options, eab });
  }

  /**
   * Any ACME CA by its directory URL; `name` is how inventory entries refer to it. Give its roots as
   * `options.trustAnchors` (the PEM of the CA's root), or synthesis fails naming `cas.<name>.trustAnchors`.
   * @param name - inventory name of the CA
   * @param directoryUrl - the https:// URL of the ACME directory
   */
  static fromDirectoryUrl(name: string, directoryUrl: string, options: AcmeCaOptions = {}): AcmeCa {
    return new AcmeCa(name, directoryUrl, options);
  }

  /**
   * Reads a CA from a CLI context value: a preset name (`letsencrypt`, `letsencrypt-staging`, ...) or an
   * https:// directory URL (named `default`).
   */
  static fromContext(value: string): AcmeCa {
    if (value in CA_PRESETS) {
      return new AcmeCa(value, CA_PRESETS[value as keyof typeof CA_PRESETS], {});
    }
    return AcmeCa.fromDirectoryUrl('default', value);
  }

  /** Inventory name of this CA. */
  readonly name: string;
  /** ACME directory URL. */
  readonly directoryUrl: string;
  /** Contact URLs, EAB, preferred chain and trust anchors. */
  readonly options: AcmeCaOptions;

  private constructor(name: string, directoryUrl: string, options: AcmeCaOptions) {
    this.name = name;
    this.directoryUrl = directoryUrl;
    this.options = options;
  }

  /** True when the inventory needs an explicit `cas` entry for this CA (anything but a bare preset). */
  get needsDefinition(): boolean {
    const preset = (CA_PRESETS as Record<string, string>)[this.name];
    return (
      preset !== this.directoryUrl ||
      this.options.eab !== undefined ||
      (this.options.contact?.length ?? 0) > 0 ||
      this.options.preferredChain !== undefined ||
      this.options.trustAnchors !== undefined
    );
  }
}
