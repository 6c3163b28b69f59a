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

/** A {@link Tracked} in the tracker's list of running transfers. */
class RunningTransfer implements Tracked {
  bytes = 0
  readonly info: TrackedInfo
  previous: RunningTransfer | undefined = undefined
  next: RunningTransfer | undefined = undefined
  running = true

  constructor (info: TrackedInfo) {
    this.info = info
  }
}

/**
 * Every transfer running on one router, whatever started it (queue mode, pubsub, or any other
 * mode that moves a message): the one count of running transfers, the byte counter, and the
 * router's shutdown, which waits for them. Knows nothing of channels or queues.
 *
 * The running transfers are a linked list, not a Set: a Set that lives as long as the router is in
 * V8's old generation, and every few additions and deletions it rehashes into a new table allocated
 * there too. At one transfer per message that was old-generation garbage at every message (about
 * 1 MB in a second of small pubsub messages), which only a full GC collects: the standalone
 * server's heap grew by megabytes over a fan-out run where the node:http baseline's stayed flat.
 */
export class TransferTracker {
  #first: RunningTransfer | undefined = undefined
  #last: RunningTransfer | undefined = undefined
  #size = 0
  #bytesFinished = 0
  #closed = false
  #idle: (() => void) | undefined
  readonly #whenIdle = new Promise<void>(resolve => { this.#idle = resolve })

  /** Set once {@link close} has been called: take no new requests. */
  get closed (): boolean {
    return this.#closed
  }

  get size (): number {
    return this.#size
  }

  start (info: TrackedInfo): Tracked {
    const tracked = new RunningTransfer(info)
    tracked.previous = this.#last
    if (this.#last === undefined) this.#first = tracked
    else this.#last.next = tracked
    this.#last = tracked
    this.#size++
    return tracked
  }

  /** Ends a tracked transfer, whatever its outcome. Idempotent. */
  end (tracked: Tracked): void {
    const transfer = tracked as RunningTransfer
    if (!transfer.running) return
    transfer.running = false
    if (transfer.previous === undefined) this.#first = transfer.next
    else transfer.previous.next = transfer.next
    if (transfer.next === undefined) this.#last = transfer.previous
    else transfer.next.previous = transfer.previous
    transfer.previous = transfer.next = undefined
    this.#size--
    this.#bytesFinished += tracked.bytes
    if (this.#closed && this.#size === 0) this.#idle?.()
  }

  stats (): TrackerStats {
    let inFlight = 0
    const transfers: TransferProgress[] = []
    // Oldest first, as the Set this replaced listed them.
    for (let tracked = this.#first; tracked !== undefined; tracked = tracked.next) {
      inFlight += tracked.bytes
      transfers.push({ ...tracked.info, bytes: tracked.bytes })
    }
    return { runningTransfers: this.#size, bytesTransferred: this.#bytesFinished + inFlight, transfers }
  }

  /** Marks the router closed; resolves once no transfer runs. Idempotent. */
  close (): Promise<void> {
    this.#closed = true
    if (this.#size === 0) this.#idle?.()
    return this.#whenIdle
  }
}
