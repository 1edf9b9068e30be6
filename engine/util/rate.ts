/** Bytes per second over a sliding window of one-second buckets (for status lines, not for decisions). */
export class RateMeter {
  readonly #buckets: number[]
  #current = 0
  #second = Math.floor(Date.now() / 1000)

  constructor (windowSeconds = 5) {
    this.#buckets = new Array<number>(windowSeconds).fill(0)
  }

  add (bytes: number): void {
    this.#roll()
    this.#current += bytes
  }

  /** Bytes per second averaged over the completed buckets of the window. */
  get rate (): number {
    this.#roll()
    let sum = 0
    for (const b of this.#buckets) sum += b
    return sum / this.#buckets.length
  }

  #roll (): void {
    const now = Math.floor(Date.now() / 1000)
    if (now === this.#second) return
    const steps = Math.min(now - this.#second, this.#buckets.length)
    for (let i = 0; i < steps; i++) {
      this.#buckets.shift()
      this.#buckets.push(i === 0 ? this.#current : 0)
    }
    this.#current = 0
    this.#second = now
  }
}
