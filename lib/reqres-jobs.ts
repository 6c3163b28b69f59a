import { randomFillSync } from 'node:crypto'

/** Why a job no longer takes a reply: each gets its own answer (`job.used`, `job.expired`, `requester.gone`). */
export type JobEnd = 'used' | 'expired' | 'requester.gone'

/** How many ended jobs are remembered, so that a late reply learns why it is refused. */
const REMEMBERED = 10_000

const ID_BYTES = 16
// Ids are cut from random bytes drawn 256 ids at a time: a randomBytes() call per id cost 6.6 us,
// as much as the rest of a small exchange's header work on the relay.
const pool = Buffer.alloc(ID_BYTES * 256)
let poolAt = pool.length

function freshId (): string {
  if (poolAt === pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  poolAt += ID_BYTES
  return pool.toString('base64url', poolAt - ID_BYTES, poolAt)
}

/**
 * Two-step jobs by id. An id is 128 random bits (base64url), so it cannot be guessed, and it is
 * taken once: {@link take} removes the job. Ended jobs are remembered for `retention` ms (at most
 * {@link REMEMBERED} of them) to tell a used or expired job from one that never existed.
 */
export class JobTable<J extends { readonly key: string }> {
  readonly #open = new Map<string, J>()
  readonly #ended = new Map<string, { readonly key: string, readonly end: JobEnd, readonly at: number }>()
  // The ended ids in end order, the oldest at #first: the first to go. Not the Map's own order:
  // iterating a Map from its front after many deletions walks their holes (8 us a job once it
  // remembered 10 000).
  #endOrder: string[] = []
  #first = 0
  readonly #retention: number

  constructor (retention: number) {
    this.#retention = retention
  }

  get size (): number {
    return this.#open.size
  }

  /** Files a job under a fresh id and returns the id. */
  add (job: J): string {
    let id = freshId()
    while (this.#open.has(id) || this.#ended.has(id)) id = freshId()
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
    this.#endOrder.push(id)
    const order = this.#endOrder
    while (this.#first < order.length) {
      const oldest = order[this.#first] as string
      if (this.#ended.size <= REMEMBERED && now - (this.#ended.get(oldest)?.at ?? 0) <= this.#retention) break
      this.#ended.delete(oldest)
      this.#first++
    }
    if (this.#first > 1024 && this.#first * 2 > order.length) {
      this.#endOrder = order.slice(this.#first)
      this.#first = 0
    }
  }

  /** Whether the job is still waiting for its reply. */
  isOpen (id: string): boolean {
    return this.#open.has(id)
  }
}
