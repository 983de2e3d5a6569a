/** Runs one task at a time per user; tasks of different users run independently. */
export class PerUserLock {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(userKey: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(userKey) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.then(
      () => undefined,
      () => undefined,
    )
    this.tails.set(userKey, tail)
    void tail.then(() => {
      if (this.tails.get(userKey) === tail) this.tails.delete(userKey)
    })
    return result
  }
}
