/**
 * What changed in a device's database, as `ClientSyncLogStorage.onChange`
 * listeners see it: writes logged by the app (`logged`), own entries a sync
 * sent to the shared log or set aside because the log refused them (`sent`:
 * their objects' sync state changed), and received changes applied by a sync
 * (`integrated`), in this instance or in another one over the same database
 * (another browser tab or worker).
 */
export interface SyncChange {
  kind: SyncChangeKind
  /** Log entries written (logged), sent or set aside (sent), or received entries applied (integrated). */
  entries: number
  /** The collections that changed. */
  collections: string[]
  /** 'local' for this instance, 'other-instance' for another tab or worker over the same database. */
  origin: 'local' | 'other-instance'
}

export type SyncChangeListener = (change: SyncChange) => void

export type SyncChangeKind = 'logged' | 'sent' | 'integrated'

const CHANGE_KINDS: ReadonlySet<unknown> = new Set<SyncChangeKind>(['logged', 'sent', 'integrated'])

function isChangeKind(kind: unknown): kind is SyncChangeKind {
  return CHANGE_KINDS.has(kind)
}

interface BroadcastChannelLike {
  postMessage(message: unknown): void
  close(): void
  onmessage: ((event: { data: unknown }) => void) | null
  unref?: () => void
}

/**
 * Tells every instance over one database about changes: listeners of this
 * instance at once, the others through a BroadcastChannel (browsers, workers,
 * Node's worker threads) when the database has a name.
 */
export class ChangeChannel {
  private readonly listeners = new Set<SyncChangeListener>()
  private channel: BroadcastChannelLike | null = null
  private poster: BroadcastChannelLike | null = null

  constructor(private readonly channelName: string | null) {}

  subscribe(listener: SyncChangeListener): () => void {
    this.listeners.add(listener)
    this.open()
    return () => {
      this.listeners.delete(listener)
      if (!this.listeners.size) {
        this.close()
      }
    }
  }

  publish(change: Omit<SyncChange, 'origin'>): void {
    this.dispatch({ ...change, origin: 'local' })
    if (!this.channelName) {
      return
    }
    // Through the listening channel when there is one (a channel does not hear itself), else through
    // one kept open for posting (not one per write); neither holds a Node process open.
    if (!this.channel && !this.poster) {
      this.poster = createChannel(this.channelName)
      this.poster?.unref?.()
    }
    try {
      ;(this.channel ?? this.poster)?.postMessage({ kind: change.kind, entries: change.entries, collections: change.collections })
    } catch {
      // Another instance missing one notification only delays its refresh.
    }
  }

  close(): void {
    this.channel?.close()
    this.channel = null
    this.poster?.close()
    this.poster = null
  }

  private open() {
    if (this.channel || !this.channelName) {
      return
    }
    this.channel = createChannel(this.channelName)
    if (this.channel) {
      this.channel.onmessage = (event) => {
        const data = event.data as Partial<SyncChange> | null
        if (data && isChangeKind(data.kind)) {
          this.dispatch({
            kind: data.kind,
            entries: Number(data.entries) || 0,
            collections: Array.isArray(data.collections) ? data.collections.map(String) : [],
            origin: 'other-instance',
          })
        }
      }
      // In Node an open channel would keep the process alive.
      this.channel.unref?.()
    }
  }

  private dispatch(change: SyncChange) {
    for (const listener of [...this.listeners]) {
      try {
        listener(change)
      } catch {
        // A failing listener must not break a write or a sync.
      }
    }
  }
}

function createChannel(name: string): BroadcastChannelLike | null {
  const Channel = (globalThis as { BroadcastChannel?: new (name: string) => BroadcastChannelLike }).BroadcastChannel
  return typeof Channel === 'function' ? new Channel(name) : null
}
