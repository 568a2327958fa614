import { type CertificateConfig, type Inventory, parseInventoryLenient } from '../../config/inventory';
import type { RenewerDeps, RenewOutcome, RenewRequest } from './context';

/**
 * The inventory entry a request names. An id that is not a valid entry can never succeed: it is reported (with
 * the entry's own problems) as a failure event and answered `skipped`, so the queue does not retry it.
 */
export async function findEntry(
  deps: RenewerDeps,
  request: RenewRequest,
): Promise<{ inventory: Inventory; config: CertificateConfig } | { outcome: RenewOutcome }> {
  const { inventory, problems } = parseInventoryLenient(await deps.store.loadInventory());
  const config = inventory.certificates.find((c) => c.id === request.id);
  if (config) return { inventory, config };
  const mine = problems.filter((p) => p.path.startsWith('certificates'));
  const listed = mine.map((p) => `${p.path}: ${p.message}`).join('; ');
  const message = `certificate "${request.id}" is not a valid entry of the inventory${listed ? `: ${listed}` : ''}`;
  await deps.events.publish('Certificate Renewal Failed', {
    id: request.id,
    reason: request.reason,
    code: 'config-invalid',
    error: message,
  });
  return {
    outcome: { id: request.id, result: 'skipped', reason: request.reason, imports: [], notes: [message] },
  };
}
