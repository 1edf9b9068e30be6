/**
 * A tiny typed event emitter that works in Node, pages and workers alike (the engine core imports nothing from
 * `node:`). `Events` maps each event name to its listener's argument tuple.
 */
export type EventMap = Record<string, unknown[]>

type Listener = (...args: unknown[]) => void

export class Emitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Set<Listener>>()

  on<K extends keyof Events> (event: K, listener: (...args: Events[K]) => void): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener as unknown as Listener)
    return () => this.off(event, listener)
  }

  once<K extends keyof Events> (event: K, listener: (...args: Events[K]) => void): () => void {
    const off = this.on(event, (...args) => {
      off()
      listener(...args)
    })
    return off
  }

  off<K extends keyof Events> (event: K, listener: (...args: Events[K]) => void): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener)
  }

  emit<K extends keyof Events> (event: K, ...args: Events[K]): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) listener(...(args as unknown[]))
  }

  listenerCount (event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  removeAllListeners (): void {
    this.#listeners.clear()
  }
}
