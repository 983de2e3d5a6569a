/** Runs tasks one at a time, in call order; a failing task does not block the next. */
export class Mutex {
  private readonly keyed = new KeyedMutex()

  run<T>(task: () => Promise<T>): Promise<T> {
    return this.keyed.run('', task)
  }
}

/**
 * A Mutex per key (e.g. per user or per database): tasks of one key run in
 * call order, tasks of different keys independently. Keys with nothing
 * queued are forgotten, so a long-lived server holds no entry per user ever seen.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.then(
      () => undefined,
      () => undefined,
    )
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  /** How many keys have tasks queued or running. */
  get size(): number {
    return this.tails.size
  }
}
