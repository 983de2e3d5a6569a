/**
 * The item a schedule's number names: `index` modulo the list's length, so
 * any number picks something (which is what lets fast-check shrink
 * schedules). Throws on an empty list.
 */
export function pickCyclic<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length]
  if (item === undefined) {
    throw new Error(`index ${index} picks nothing from a list of ${items.length}`)
  }
  return item
}
