import { describe, expect, it } from 'vitest';
import { RenewalScopedStore } from '../../../functions/composition/renewal-scoped-store';
import type { CertificateFiles } from '../../../functions/core/renewal/ports';
import { MemoryStore } from '../../support/fakes';

const FILES: CertificateFiles = {
  certPem: 'CERT',
  chainPem: 'CHAIN',
  fullchainPem: 'CERT\nCHAIN',
  privateKeyPem: 'KEY',
};

/** A memory store that counts the reads that would reach S3. */
function countingStore(inventory: unknown = { version: 1, certificates: [] }) {
  const store = new MemoryStore(inventory);
  const reads = { inventory: 0, certificate: 0, state: 0 };
  const loadInventory = store.loadInventory.bind(store);
  const getCertificate = store.getCertificate.bind(store);
  const readState = store.readState.bind(store);
  store.loadInventory = async () => {
    reads.inventory++;
    return loadInventory();
  };
  store.getCertificate = async (id) => {
    reads.certificate++;
    return getCertificate(id);
  };
  store.readState = async (id) => {
    reads.state++;
    return readState(id);
  };
  return { store, reads };
}

describe('RenewalScopedStore', () => {
  it('does not read back the PEM files it just wrote, and reads stored ones once', async () => {
    const { store, reads } = countingStore();
    const scoped = new RenewalScopedStore(store);
    await scoped.putCertificate('shop', FILES);
    expect(await scoped.getCertificate('shop')).toEqual(FILES);
    expect(store.certificates.get('shop')).toEqual(FILES);
    store.certificates.set('blog', { ...FILES, certPem: 'BLOG' });
    await scoped.getCertificate('blog');
    expect((await scoped.getCertificate('blog'))?.certPem).toBe('BLOG');
    expect(reads.certificate).toBe(1);
  });

  it('reads the inventory once per renewal, and again after a failed read', async () => {
    const { store, reads } = countingStore();
    const scoped = new RenewalScopedStore(store);
    await scoped.loadInventory();
    await scoped.loadInventory();
    expect(reads.inventory).toBe(1);

    const flaky = countingStore();
    let failures = 1;
    const load = flaky.store.loadInventory.bind(flaky.store);
    flaky.store.loadInventory = async () => {
      if (failures-- > 0) throw new Error('S3 down');
      return load();
    };
    const retrying = new RenewalScopedStore(flaky.store);
    await expect(retrying.loadInventory()).rejects.toThrow('S3 down');
    await expect(retrying.loadInventory()).resolves.toEqual({ version: 1, certificates: [] });
  });

  it('always reads state documents from the store: their ETags guard every write', async () => {
    const { store, reads } = countingStore();
    const scoped = new RenewalScopedStore(store);
    await scoped.readState('shop');
    await scoped.readState('shop');
    expect(reads.state).toBe(2);
  });

  it('a write that fails leaves nothing remembered: the next read goes to the store', async () => {
    const { store, reads } = countingStore();
    store.certificates.set('shop', FILES);
    const scoped = new RenewalScopedStore(store);
    await scoped.getCertificate('shop');
    store.putCertificate = async () => {
      throw new Error('PutObject failed');
    };
    await expect(scoped.putCertificate('shop', { ...FILES, certPem: 'NEW' })).rejects.toThrow(
      'PutObject failed',
    );
    expect((await scoped.getCertificate('shop'))?.certPem).toBe('CERT');
    expect(reads.certificate).toBe(2);
  });

  it('a new scope per renewal sees what another container wrote since', async () => {
    const { store } = countingStore();
    await new RenewalScopedStore(store).putCertificate('shop', FILES);
    store.certificates.set('shop', { ...FILES, certPem: 'WRITTEN ELSEWHERE' });
    expect((await new RenewalScopedStore(store).getCertificate('shop'))?.certPem).toBe('WRITTEN ELSEWHERE');
  });
});
