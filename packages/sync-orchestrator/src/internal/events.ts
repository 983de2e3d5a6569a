import type { SyncEventEmitter, SyncEventMap, SyncEventName } from '../types'

export function createEmitter(events: SyncEventEmitter | undefined) {
  return <Name extends SyncEventName>(name: Name, payload: SyncEventMap[Name]) => {
    events?.emit(name, payload)
  }
}
