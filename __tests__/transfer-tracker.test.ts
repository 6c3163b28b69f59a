import { describe, expect, it } from '@jest/globals'
import { getHeapSpaceStatistics } from 'node:v8'
import { TransferTracker, type TrackedInfo } from '../lib/transfer-tracker'
import { exposeGc } from './helpers/gc'

const INFO: TrackedInfo = { namespace: 'ns', channel: 'ch', total: 10, receivers: 1, pubsub: false, startedAt: 1 }

/** Resolves to whether `promise` settled within the current turn's microtasks. */
async function settledNow (promise: Promise<void>): Promise<boolean> {
  let settled = false
  promise.then(() => { settled = true }, () => { settled = true })
  await new Promise(resolve => { setImmediate(resolve) })
  return settled
}

describe('TransferTracker', () => {
  it('counts running transfers and their bytes, finished ones included in bytesTransferred', () => {
    const tracker = new TransferTracker()
    const first = tracker.start(INFO)
    const second = tracker.start({ ...INFO, channel: 'other', total: undefined, pubsub: true, receivers: 3 })
    first.bytes = 4
    second.bytes = 6
    expect(tracker.stats()).toStrictEqual({
      runningTransfers: 2,
      bytesTransferred: 10,
      transfers: [{ ...INFO, bytes: 4 }, { ...INFO, channel: 'other', total: undefined, pubsub: true, receivers: 3, bytes: 6 }]
    })
    tracker.end(first)
    tracker.end(first)
    expect(tracker.stats()).toStrictEqual({ runningTransfers: 1, bytesTransferred: 10, transfers: [{ ...INFO, channel: 'other', total: undefined, pubsub: true, receivers: 3, bytes: 6 }] })
    expect(tracker.size).toBe(1)
  })

  it('resolves close() once the last running transfer ends, and at once when none runs', async () => {
    const tracker = new TransferTracker()
    const running = tracker.start(INFO)
    expect(tracker.closed).toBe(false)
    const closed = tracker.close()
    expect(tracker.closed).toBe(true)
    expect(await settledNow(closed)).toBe(false)
    tracker.end(running)
    expect(await settledNow(closed)).toBe(true)
    expect(tracker.close()).toBe(closed)
    expect(await settledNow(new TransferTracker().close())).toBe(true)
  })

  it('lists the running transfers oldest first, whichever of them end', () => {
    const tracker = new TransferTracker()
    const a = tracker.start({ ...INFO, channel: 'a' })
    const b = tracker.start({ ...INFO, channel: 'b' })
    const c = tracker.start({ ...INFO, channel: 'c' })
    const channels = (): string[] => tracker.stats().transfers.map(transfer => transfer.channel)
    tracker.end(b)
    expect(channels()).toStrictEqual(['a', 'c'])
    tracker.start({ ...INFO, channel: 'd' })
    tracker.end(c)
    expect(channels()).toStrictEqual(['a', 'd'])
    tracker.end(a)
    const e = tracker.start({ ...INFO, channel: 'e' })
    expect(channels()).toStrictEqual(['d', 'e'])
    expect(tracker.size).toBe(2)
    tracker.end(e)
    tracker.end(e)
    expect(channels()).toStrictEqual(['d'])
    expect(tracker.size).toBe(1)
  })

  // A router's tracker lives in V8's old generation. A Set of running transfers there rehashed into
  // a new table, also allocated there, every few starts and ends: garbage only a full GC collects,
  // about 30 bytes a transfer (the standalone server's heap grew by MBs in a fan-out run).
  it('leaves nothing in the old generation for a transfer that started and ended', () => {
    const gc = exposeGc()
    const tracker = new TransferTracker()
    const cycle = (): void => { tracker.end(tracker.start(INFO)) }
    for (let i = 0; i < 100; i++) cycle()
    // Twice: the tracker (and the code just compiled) moves to the old generation.
    gc()
    gc()
    const oldSpace = (): number => getHeapSpaceStatistics().find(space => space.space_name === 'old_space')?.space_used_size ?? NaN
    const before = oldSpace()
    for (let i = 0; i < 20_000; i++) cycle()
    // With the Set: 0.5-1.2 MB. Allowance for what else the worker may put there meanwhile.
    expect(oldSpace() - before).toBeLessThan(100_000)
  })
})
