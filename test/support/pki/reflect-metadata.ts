/**
 * The smallest `Reflect` metadata API that `tsyringe` (used inside `@peculiar/x509` v2) needs to load.
 *
 * `@peculiar/x509` v2 asks its users to import a Reflect polyfill such as `reflect-metadata`; none is a dependency
 * of this project, and the library only reads constructor parameter metadata (always absent here), so a WeakMap
 * store is enough. An existing polyfill is left untouched.
 */
type MetadataTarget = object;
type PropertyKeyOrNone = string | symbol | undefined;

const store = new WeakMap<MetadataTarget, Map<PropertyKeyOrNone, Map<unknown, unknown>>>();

function ownMap(target: MetadataTarget, property: PropertyKeyOrNone, create: boolean) {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (!entries && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

const api = {
  defineMetadata(key: unknown, value: unknown, target: MetadataTarget, property?: string | symbol): void {
    ownMap(target, property, true)?.set(key, value);
  },
  getOwnMetadata(key: unknown, target: MetadataTarget, property?: string | symbol): unknown {
    return ownMap(target, property, false)?.get(key);
  },
  hasOwnMetadata(key: unknown, target: MetadataTarget, property?: string | symbol): boolean {
    return ownMap(target, property, false)?.has(key) ?? false;
  },
  getMetadata(key: unknown, target: MetadataTarget, property?: string | symbol): unknown {
    // Metadata is inherited along the prototype chain, as in the reflect-metadata proposal.
    for (let current: MetadataTarget | null = target; current; current = Object.getPrototypeOf(current)) {
      const entries = ownMap(current, property, false);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  },
  hasMetadata(key: unknown, target: MetadataTarget, property?: string | symbol): boolean {
    for (let current: MetadataTarget | null = target; current; current = Object.getPrototypeOf(current)) {
      if (ownMap(current, property, false)?.has(key)) return true;
    }
    return false;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== 'function') {
  for (const [name, fn] of Object.entries(api)) reflect[name] = fn;
}
