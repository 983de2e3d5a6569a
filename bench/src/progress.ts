/**
 * Shows doSync's `progress` events: a bar redrawn in place on a terminal,
 * plain lines (at most one per tenth of the way, and at the end) otherwise.
 */

export interface ProgressCount {
  done: number
  total: number | null
}

export interface ProgressPayload {
  phase: 'bootstrap' | 'receive'
  objects?: ProgressCount
  entries: ProgressCount
  bytes?: ProgressCount
}

export interface ProgressStream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

const number = (value: number) => value.toLocaleString('en-US')
const megabytes = (value: number) => (value / 2 ** 20).toFixed(1)

function count(label: string, value: ProgressCount | undefined, format = number): string | null {
  if (!value) return null
  return value.total === null ? `${format(value.done)} ${label}` : `${format(value.done)}/${format(value.total)} ${label}`
}

/** The share of the work done: objects for a bootstrap, entries otherwise; null without a total. */
function fraction(payload: ProgressPayload): number | null {
  const main = payload.phase === 'bootstrap' && payload.objects ? payload.objects : payload.entries
  if (main.total === null) return null
  return main.total === 0 ? 1 : Math.min(1, main.done / main.total)
}

export function describeProgress(payload: ProgressPayload): string {
  return [count('objects', payload.objects), count('entries', payload.entries), count('MB', payload.bytes, megabytes)]
    .filter(Boolean)
    .join(' · ')
}

/** Renders the bar for one payload (exported for the test). */
export function renderBar(payload: ProgressPayload, width: number, elapsedMs: number): string {
  const share = fraction(payload)
  const percent = share === null ? '   ?' : `${Math.floor(share * 100)}`.padStart(3) + '%'
  const filled = share === null ? 0 : Math.round(share * width)
  const bar = share === null ? '·'.repeat(width) : '█'.repeat(filled) + '░'.repeat(width - filled)
  return `${payload.phase.padEnd(9)} ${bar} ${percent}  ${describeProgress(payload)}  ${(elapsedMs / 1000).toFixed(1)} s`
}

/**
 * A doSync `events` sink (`{ emit }`) that draws progress on `stream`. Call
 * `finish()` after the sync so a bar ends its line. `label` prefixes each line.
 */
export function createProgressDisplay(options: { stream?: ProgressStream; label?: string; minIntervalMs?: number; now?: () => number } = {}) {
  const stream = options.stream ?? process.stdout
  const now = options.now ?? (() => performance.now())
  const label = options.label ? `${options.label} ` : ''
  const tty = Boolean(stream.isTTY)
  const minInterval = options.minIntervalMs ?? (tty ? 100 : 0)
  const started = now()
  let lastDraw = -Infinity
  let lastTenth = -1
  let last: ProgressPayload | null = null
  let open = false
  const draw = (payload: ProgressPayload) => {
    const columns = Math.max(60, stream.columns ?? 100)
    const line = `${label}${renderBar(payload, 24, now() - started)}`
    stream.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length))}\x1b[K`)
    open = true
  }
  return {
    emit(name: string, payload: unknown) {
      if (name !== 'progress') return
      const progress = payload as ProgressPayload
      const phaseChanged = last !== null && last.phase !== progress.phase
      if (phaseChanged && tty && open) {
        draw(last!)
        stream.write('\n')
        open = false
      }
      if (phaseChanged) lastTenth = -1
      last = progress
      const share = fraction(progress)
      if (tty) {
        if (now() - lastDraw >= minInterval || share === 1) {
          lastDraw = now()
          draw(progress)
        }
        return
      }
      // Not a terminal: one line per tenth of the way (every 5 s when there is no total).
      const tenth = share === null ? (now() - lastDraw >= 5000 ? lastTenth + 1 : lastTenth) : Math.floor(share * 10)
      if (tenth > lastTenth) {
        lastTenth = tenth
        lastDraw = now()
        stream.write(`${label}${progress.phase}: ${share === null ? '' : `${Math.floor(share * 100)}% `}${describeProgress(progress)} (${((now() - started) / 1000).toFixed(1)} s)\n`)
      }
    },
    finish() {
      if (tty && open && last) {
        draw(last)
        stream.write('\n')
        open = false
      }
    },
  }
}
