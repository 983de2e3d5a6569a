import { getObjectKey } from '@storex-sync/client-sync-log'

/** The objects one sync wrote entries for (shared or integrated): those whose log it compacts at the end. */
export class TouchedObjects {
  private readonly objects = new Map<string, { collection: string; pk: unknown }>()

  add(items: Iterable<{ collection: string; pk: unknown }>): void {
    for (const item of items) {
      this.objects.set(getObjectKey(item.collection, item.pk), { collection: item.collection, pk: item.pk })
    }
  }

  list(): Array<{ collection: string; pk: unknown }> {
    return [...this.objects.values()]
  }
}

/** The collector runStages passes along to the stages (absent when a stage is called on its own). */
export function touchedObjectsOf(options: object): TouchedObjects | undefined {
  return (options as { touchedObjects?: TouchedObjects }).touchedObjects
}
