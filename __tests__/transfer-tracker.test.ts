import { describe, expect, it } from '@jest/globals'
import { TransferTracker, type TrackedInfo } from '../lib/transfer-tracker'

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
})
