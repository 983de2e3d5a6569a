// Objects on their way in and out of IndexedDB: relationship aliases, custom fields, full-text terms.
import { StorexBackendDexieError } from '../errors'
import type { DexieStorageBackendOptions } from '../options'
import type { CollectionInfo } from './store'

type ObjectOptions = Pick<DexieStorageBackendOptions, 'stemmer' | 'stemmerSelector' | 'legacyMemexCompatibility'>

/** Prepares `object` for storage in place: creates prepare every custom field, updates only those given. */
export async function prepareWrite(options: ObjectOptions, info: CollectionInfo, object: any, purpose: 'create' | 'update') {
  for (const [fieldName, field] of info.customFields) {
    if (purpose !== 'create' && !(fieldName in object)) continue
    object[fieldName] = await field.fieldObject.prepareForStorage(object[fieldName])
  }
  for (const { field, termsField } of info.termsFields) {
    const text = object[field]
    if (!text) continue
    if (purpose === 'update' && termsField in object) continue
    const stemmer = options.stemmerSelector
      ? options.stemmerSelector({ collectionName: info.definition.name!, fieldName: field })
      : (options.stemmer ?? null)
    if (!stemmer) {
      throw new StorexBackendDexieError(
        'MISSING_STEMMER',
        `'${info.definition.name}.${field}' is an indexed text field: pass a stemmer (or stemmerSelector) to DexieStorageBackend to write it.`,
      )
    }
    object[termsField] = [...stemmer(text)]
  }
  aliasesForWrite(info, object)
}

/** A copy of `object` as it is stored (custom fields, terms, aliases); the caller's object is left alone. */
export async function prepareCreate(options: ObjectOptions, info: CollectionInfo, object: any): Promise<any> {
  if (!info.customFields.length && !info.termsFields.length && !info.aliases.length) {
    // Nothing to change: IndexedDB stores a structured clone of it anyway.
    return object
  }
  const stored = { ...object }
  await prepareWrite(options, info, stored, 'create')
  return stored
}

/** A where with custom field values prepared and aliases turned into their fields, as the stored objects have them. */
export async function prepareWhere(info: CollectionInfo, where: any): Promise<any> {
  if (!where || (!info.customFields.length && !info.aliases.length)) return where
  const copy = { ...where }
  for (const [fieldName, field] of info.customFields) {
    if (fieldName in copy) copy[fieldName] = await field.fieldObject.prepareForStorage(copy[fieldName])
  }
  aliasesForWrite(info, copy)
  return copy
}

/** Turns a stored object into what Storex callers get, in place. */
export async function prepareRead(options: ObjectOptions, info: CollectionInfo, object: any) {
  fillOptionalFields(options, info, object)
  for (const { alias, fieldName } of info.aliases) {
    object[alias] = object[fieldName]
    delete object[fieldName]
  }
  for (const [fieldName, field] of info.customFields) {
    object[fieldName] = await field.fieldObject.prepareFromStorage(object[fieldName])
  }
}

/** Optional fields the object lacks become null (unless `legacyMemexCompatibility`, as 0.3.1 left them undefined). */
export function fillOptionalFields(options: ObjectOptions, info: CollectionInfo, object: any) {
  if (options.legacyMemexCompatibility) return
  for (const field of info.optionalFields) {
    if (object[field] === undefined) object[field] = null
  }
}

/** Relationship aliases go to their fields. */
function aliasesForWrite(info: CollectionInfo, object: any) {
  for (const { alias, fieldName } of info.aliases) {
    if (object[alias] !== undefined) {
      object[fieldName] = object[alias]
      delete object[alias]
    }
  }
}
