import { randomBytes } from 'node:crypto'

/** Why a job no longer takes a reply: each gets its own answer (`job.used`, `job.expired`, `requester.gone`). */
export type JobEnd = 'used' | 'expired' | 'requester.gone'

/** How many ended jobs are remembered, so that a late reply learns why it is refused. */
const REMEMBERED = 10_000

/**
 * Two-step jobs by id. An id is 128 random bits (base64url), so it cannot be guessed, and it is
 * taken once: {@link take} removes the job. Ended jobs are remembered for `retention` ms (at most
 * {@link REMEMBERED} of them) to tell a used or expired job from one that never existed.
 */
export class JobTable<J extends { readonly key: string }> {
  readonly #open = new Map<string, J>()
  // Insertion order is end order, so the oldest are first to go.
  readonly #ended = new Map<string, { readonly key: string, readonly end: JobEnd, readonly at: number }>()
  readonly #retention: number

  constructor (retention: number) {
    this.#retention = retention
  }

  get size (): number {
    return this.#open.size
  }

  /** Files a job under a fresh id and returns the id. */
  add (job: J): string {
    let id = randomBytes(16).toString('base64url')
    while (this.#open.has(id) || this.#ended.has(id)) id = randomBytes(16).toString('base64url')
    this.#open.set(id, job)
    return id
  }

  /**
   * Takes the job for a reply to `key`: the job, or why there is none. A job of another channel
   * is reported unknown, so that an id says nothing about channels it was not issued for.
   */
  take (id: string, key: string): J | JobEnd | 'unknown' {
    const job = this.#open.get(id)
    if (job !== undefined && job.key === key) {
      this.end(id, 'used')
      return job
    }
    const ended = this.#ended.get(id)
    if (ended !== undefined && ended.key === key && Date.now() - ended.at <= this.#retention) return ended.end
    return 'unknown'
  }

  /** Ends an open job (no-op when it is not open). */
  end (id: string, why: JobEnd): void {
    const job = this.#open.get(id)
    if (job === undefined) return
    this.#open.delete(id)
    const now = Date.now()
    this.#ended.set(id, { key: job.key, end: why, at: now })
    for (const [oldId, ended] of this.#ended) {
      if (this.#ended.size <= REMEMBERED && now - ended.at <= this.#retention) break
      this.#ended.delete(oldId)
    }
  }

  /** Whether the job is still waiting for its reply. */
  isOpen (id: string): boolean {
    return this.#open.has(id)
  }
}
