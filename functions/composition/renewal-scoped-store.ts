import type {
  CertificateFiles,
  CertificateStore,
  StoredAccount,
  VersionedState,
} from '../core/renewal/ports';
import type { CertificateState } from '../core/renewal/state';

/**
 * The store as one renewal sees it: each object is read from S3 at most once, and what the renewal just wrote is
 * not read back. The renewal holds the certificate's lease, so nobody else writes its PEM files meanwhile; the
 * inventory is written only by the deployment. State documents always go to S3 (their ETags guard every write),
 * and nothing outlives the renewal: a new one is made per attempt, so another container's writes are never hidden.
 *
 * Saves the four GETs that re-read the PEM files `putCertificate` wrote before the ACM import, a second
 * inventory read, and a second read of the CA account the attempt read ahead.
 */
export class RenewalScopedStore implements CertificateStore {
  readonly #files = new Map<string, CertificateFiles>();
  #inventory: Promise<unknown> | undefined;
  readonly #accounts = new Map<string, Promise<StoredAccount | undefined>>();

  constructor(private readonly store: CertificateStore) {}

  loadInventory(): Promise<unknown> {
    this.#inventory ??= this.store.loadInventory().catch((error: unknown) => {
      this.#inventory = undefined;
      throw error;
    });
    return this.#inventory;
  }

  getState(id: string): Promise<CertificateState | undefined> {
    return this.store.getState(id);
  }

  readState(id: string): Promise<VersionedState | undefined> {
    return this.store.readState(id);
  }

  putStateIf(id: string, state: CertificateState, expectedEtag: string | undefined): Promise<string> {
    return this.store.putStateIf(id, state, expectedEtag);
  }

  async getCertificate(id: string): Promise<CertificateFiles | undefined> {
    const known = this.#files.get(id);
    if (known) return known;
    const files = await this.store.getCertificate(id);
    if (files) this.#files.set(id, files);
    return files;
  }

  async putCertificate(id: string, files: CertificateFiles): Promise<void> {
    // Forget first: a write that fails half-way leaves S3, not this copy, as the truth.
    this.#files.delete(id);
    await this.store.putCertificate(id, files);
    this.#files.set(id, files);
  }

  getPendingKey(id: string): Promise<string | undefined> {
    return this.store.getPendingKey(id);
  }

  putPendingKey(id: string, privateKeyPem: string): Promise<void> {
    return this.store.putPendingKey(id, privateKeyPem);
  }

  deletePendingKey(id: string): Promise<void> {
    return this.store.deletePendingKey(id);
  }

  /** Read once per attempt: the renewal warms it while it takes the lease, then opens the CA with it. */
  getAccount(directoryUrl: string): Promise<StoredAccount | undefined> {
    let account = this.#accounts.get(directoryUrl);
    if (account === undefined) {
      account = this.store.getAccount(directoryUrl);
      account.catch(() => this.#accounts.delete(directoryUrl));
      this.#accounts.set(directoryUrl, account);
    }
    return account;
  }

  async putAccount(account: StoredAccount): Promise<StoredAccount> {
    this.#accounts.delete(account.directoryUrl);
    const stored = await this.store.putAccount(account);
    this.#accounts.set(account.directoryUrl, Promise.resolve(stored));
    return stored;
  }
}
