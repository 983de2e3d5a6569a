/** Samples heap and RSS while work runs; maxRSS comes from the OS and covers what sampling misses. */
export class MemorySampler {
  peakHeapUsed = 0
  peakRss = 0
  private timer?: NodeJS.Timeout

  start(intervalMs = 25): this {
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.timer.unref()
    return this
  }

  sample(): void {
    const usage = process.memoryUsage()
    this.peakHeapUsed = Math.max(this.peakHeapUsed, usage.heapUsed)
    this.peakRss = Math.max(this.peakRss, usage.rss)
  }

  stop(): { peakHeapUsedBytes: number; peakRssBytes: number; maxRssBytes: number } {
    this.sample()
    clearInterval(this.timer)
    return {
      peakHeapUsedBytes: this.peakHeapUsed,
      peakRssBytes: this.peakRss,
      // resourceUsage().maxRSS is in kilobytes: the process's high-water mark since it started.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    }
  }
}
