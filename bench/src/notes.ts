/** The bench's data, without any backend import (the browser bench bundles it). */

/** The synced collection every workload writes: a note with a few typical fields. */
export const benchCollections = {
  note: {
    version: new Date('2024-01-01'),
    fields: {
      title: { type: 'string' as const },
      body: { type: 'text' as const },
      score: { type: 'int' as const },
    },
  },
}

export const USER_ID = 'bench-user'

export function makeNote(index: number) {
  return { title: `Note ${index}`, body: `Body of note ${index}: ${'lorem ipsum '.repeat(4)}`, score: index % 100 }
}

