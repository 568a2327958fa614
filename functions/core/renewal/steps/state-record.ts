import { AcmeAwsError, hasCode } from '../../errors';
import type { CertificateStore } from '../ports';
import { type CertificateState, emptyState, keepRenewerFields, sameRenewerFields, sameState } from '../state';

/** How often one write re-reads after a conflict before it gives up (the scheduler writes once per pass). */
const MAX_CONFLICT_RETRIES = 3;

/**
 * The renewer's view of one certificate's state document: what it last read or wrote, at which ETag, and every
 * write conditional on it. While the renewer holds the lease only the scheduler writes the document (its ARI
 * refresh), so a lost write re-reads, keeps the renewer's own fields, takes the scheduler's fresher ARI fields for
 * the same certificate, and writes again. A document whose renewer fields changed under us was written by
 * another renewer: that fails with `state-conflict`, and the queue's retry decides again.
 */
export class StateRecord {
  #state: CertificateState;
  #etag: string | undefined;
  /** The renewer fields as confirmed in S3, plus those of writes whose outcome is unknown (a lost response). */
  #ours: CertificateState[];

  private constructor(
    private readonly store: CertificateStore,
    private readonly id: string,
    read: { state: CertificateState; etag: string } | undefined,
  ) {
    this.#state = read?.state ?? emptyState(id);
    this.#etag = read?.etag;
    this.#ours = [this.#state];
  }

  /** Reads the document (or starts from an empty one) and the ETag its first write is conditional on. */
  static async open(store: CertificateStore, id: string): Promise<StateRecord> {
    return new StateRecord(store, id, await store.readState(id));
  }

  /** The latest state: written, or being written (a write that failed is still what the renewer means). */
  get state(): CertificateState {
    return this.#state;
  }

  /**
   * Makes `next` the state the next write starts from, without writing it now: for a field that only has to be in
   * S3 with the attempt's next checkpoint (or its failure record), not one round trip earlier.
   */
  amend(next: CertificateState): void {
    this.#state = next;
  }

  /**
   * Writes `next` conditionally; on a conflict re-reads and retries with the scheduler's ARI fields merged in.
   * @throws AcmeAwsError `state-conflict` when another renewer changed the document, or conflicts do not stop
   */
  async save(next: CertificateState): Promise<void> {
    this.#state = next;
    let writing = next;
    for (let attempt = 0; ; attempt++) {
      try {
        this.#etag = await this.store.putStateIf(this.id, writing, this.#etag);
        this.#state = writing;
        this.#ours = [writing];
        return;
      } catch (error) {
        if (!hasCode(error, 'state-conflict') || attempt >= MAX_CONFLICT_RETRIES) {
          if (!hasCode(error, 'state-conflict')) this.#ours.push(writing);
          throw error;
        }
        writing = await this.#resolve(writing, error);
        this.#state = writing;
      }
    }
  }

  /** The document to write after losing to whatever is stored now. */
  async #resolve(ours: CertificateState, conflict: AcmeAwsError): Promise<CertificateState> {
    const fresh = await this.store.readState(this.id);
    this.#etag = fresh?.etag;
    if (fresh === undefined) return ours;
    const theirs = fresh.state;
    if (sameState(theirs, ours)) return ours;
    if (!this.#ours.some((mine) => sameRenewerFields(mine, theirs))) {
      throw new AcmeAwsError(
        'state-conflict',
        `another renewer changed the state of "${this.id}" while this one held its lease; nothing of this attempt overwrote it (the retry decides again)`,
        { cause: conflict },
      );
    }
    return keepRenewerFields(ours, theirs);
  }
}
