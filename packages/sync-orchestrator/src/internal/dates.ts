import type { StorageRegistry } from '@worldbrain/storex'

/**
 * Serialization turns Dates into strings (or numbers); the schema says which
 * fields are dates, so put them back before anything sees the values.
 */
export function reviveDateFields(
  storageRegistry: StorageRegistry,
  collection: string,
  value: Record<string, unknown> | null | undefined,
): Record<string, unknown> | null | undefined {
  const definition = storageRegistry.collections[collection]
  if (!value || !definition) {
    return value
  }
  let revived: Record<string, unknown> | undefined
  for (const [field, fieldDefinition] of Object.entries(definition.fields)) {
    const current = value[field]
    if (fieldDefinition.type !== 'datetime' || current === null || current === undefined || current instanceof Date) {
      continue
    }
    if (typeof current === 'string' || typeof current === 'number') {
      revived ??= { ...value }
      revived[field] = new Date(current)
    }
  }
  return revived ?? value
}
