import type { ServerResponse } from 'node:http'
import * as errors from './errors'

type Next = (err?: unknown) => void

interface Pending {
  readonly res: ServerResponse
  readonly next: Next
  readonly onClose: () => void
  timer: NodeJS.Timeout | undefined
}

/**
 * Requests whose `authorize` verdict is still pending, held outside every queue: a client that
 * leaves is forgotten (its verdict dropped), `close()` answers them `503` at once, and one still
 * undecided after `timeout` ms gets `408`. Shared by the channel routes (authorize.ts) and the
 * request/response mode (reqres-mode.ts).
 */
export class PendingVerdicts {
  readonly #timeout: number
  readonly #pending = new Set<Pending>()

  constructor (timeout: number) {
    this.#timeout = timeout
  }

  get size (): number {
    return this.#pending.size
  }

  /**
   * Calls `then` with what `promise` resolves to, `next(err)` on a rejection, unless the wait is
   * over first. `key` names the channel of a `408`; without one the wait has no timeout.
   */
  hold<T> (promise: PromiseLike<T>, res: ServerResponse, next: Next, key: string | undefined, then: (result: T) => void): void {
    const entry: Pending = { res, next, onClose: () => { this.#release(entry) }, timer: undefined }
    this.#pending.add(entry)
    // A client that leaves while the hook runs leaves nothing behind: its verdict is dropped.
    res.once('close', entry.onClose)
    if (key !== undefined && this.#timeout !== Infinity) {
      entry.timer = setTimeout(() => {
        this.#release(entry)
        next(errors.waitTimedOut(key, this.#timeout))
      }, this.#timeout)
    }
    promise.then(result => {
      if (!this.#release(entry)) return
      then(result)
    }, (err: unknown) => {
      if (!this.#release(entry)) return
      next(err)
    })
  }

  /** Answers every request whose verdict is still pending with `503`; later verdicts are ignored. */
  close (): void {
    for (const entry of this.#pending) {
      this.#release(entry)
      entry.next(errors.routerClosed())
    }
  }

  /** Ends a pending verdict's wait; `false` when it was already over (answered, or its client gone). */
  #release (entry: Pending): boolean {
    if (!this.#pending.delete(entry)) return false
    entry.res.removeListener('close', entry.onClose)
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    return true
  }
}
