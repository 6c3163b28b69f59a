/** A transfer or broadcast under way, for progress displays. */
export interface TransferProgress {
  readonly namespace: string
  readonly channel: string
  /** Message bytes moved so far. */
  readonly bytes: number
  /** The producer's `Content-Length`, when it sent one. */
  readonly total: number | undefined
  /** `1` for a queue-mode transfer; the number of subscribers for a pubsub broadcast. */
  readonly receivers: number
  readonly pubsub: boolean
  /** When it started, in ms since the epoch. */
  readonly startedAt: number
}

/** What a tracked transfer is, fixed when it starts. */
export type TrackedInfo = Omit<TransferProgress, 'bytes'>

/** One running transfer: its mover adds to `bytes` as they pass (it is a `RelayProgress`). */
export interface Tracked {
  bytes: number
  readonly info: TrackedInfo
}

/** The part of the stats the tracker owns. */
export interface TrackerStats {
  runningTransfers: number
  /** Bytes of finished transfers plus those moved so far by running ones. */
  bytesTransferred: number
  transfers: TransferProgress[]
}

/**
 * Every transfer running on one router, whatever started it (queue mode, pubsub, or any other
 * mode that moves a message): the one count of running transfers, the byte counter, and the
 * router's shutdown, which waits for them. Knows nothing of channels or queues.
 */
export class TransferTracker {
  readonly #running = new Set<Tracked>()
  #bytesFinished = 0
  #closed = false
  #idle: (() => void) | undefined
  readonly #whenIdle = new Promise<void>(resolve => { this.#idle = resolve })

  /** Set once {@link close} has been called: take no new requests. */
  get closed (): boolean {
    return this.#closed
  }

  get size (): number {
    return this.#running.size
  }

  start (info: TrackedInfo): Tracked {
    const tracked: Tracked = { bytes: 0, info }
    this.#running.add(tracked)
    return tracked
  }

  /** Ends a tracked transfer, whatever its outcome. Idempotent. */
  end (tracked: Tracked): void {
    if (!this.#running.delete(tracked)) return
    this.#bytesFinished += tracked.bytes
    if (this.#closed && this.#running.size === 0) this.#idle?.()
  }

  stats (): TrackerStats {
    let inFlight = 0
    const transfers: TransferProgress[] = []
    for (const tracked of this.#running) {
      inFlight += tracked.bytes
      transfers.push({ ...tracked.info, bytes: tracked.bytes })
    }
    return { runningTransfers: this.#running.size, bytesTransferred: this.#bytesFinished + inFlight, transfers }
  }

  /** Marks the router closed; resolves once no transfer runs. Idempotent. */
  close (): Promise<void> {
    this.#closed = true
    if (this.#running.size === 0) this.#idle?.()
    return this.#whenIdle
  }
}
