import { Agent, request } from 'node:http'
import { describe, expect, it } from '@jest/globals'
import type { HttpipeControls } from '../lib'
import { createRawApp } from './helpers/app'
import { ZERO } from './helpers/faults'
import { exposeGc } from './helpers/gc'
import { listen } from './helpers/http'

// Many short-lived channels, churned: whatever the pipe keeps per channel, per waiter or per
// transfer must go away with them (SPEC §1: "a million distinct channel names used once each leave
// nothing behind"). The raw node:http handler is used: Express adds CPU, not state.

const PAIRS = 50_000
const CHANNELS = 10_000
const NAMESPACES = 100
const IN_FLIGHT = 64
const WARM_UP_PAIRS = 2_000
/** Allowed growth of the heap (after gc) from the warmed-up start to the end of the churn. */
const HEAP_BOUND_MB = 10

const gc = exposeGc()

function heapAfterGc (): number {
  // Twice: finalizers of the first pass may free more on the second.
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

interface Exchange {
  readonly status: number
  readonly body: string
}

/** One request on a keep-alive agent, the whole response as text. */
async function exchange (agent: Agent, port: number, method: 'GET' | 'POST', path: string, body?: string): Promise<Exchange> {
  return await new Promise<Exchange>((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.once('end', () => { resolve({ status: res.statusCode ?? 0, body: text }) })
      res.once('error', reject)
    })
    req.once('error', reject)
    // A request stuck on the server fails the soak instead of hanging it.
    req.setTimeout(10_000, () => { req.destroy(new Error(`${method} ${path}: no progress for 10 s`)) })
    req.end(body)
  })
}

interface Soak {
  /** The first failures (a wrong status or body, a transport error). */
  readonly failures: readonly string[]
  /** Channels with a message sent and never received. */
  readonly undelivered: number
  readonly bytesSent: number
  readonly stats: ReturnType<HttpipeControls['stats']>
  /** Growth of the heap after gc, from the warmed-up start to the end of the churn. */
  readonly heapGrowthMb: number
}

/** The churn both tests below check, each on its own: run once, by whichever test comes first. */
async function soak (): Promise<Soak> {
  const { app, pipe } = createRawApp()
  const server = await listen(app)
  const { port } = server
  // Producers and consumers on agents of their own, so that one side can never take every
  // socket while waiting for the other.
  const producers = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  const consumers = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT })

  let bytesSent = 0
  const failures: string[] = []
  /** Messages sent and not yet received, by channel path: a consumer must get one of its channel's. */
  const pending = new Map<string, Set<string>>()

  async function pair (index: number): Promise<void> {
    const channel = index % CHANNELS
    const path = `/channels/ns${channel % NAMESPACES}/ch${channel}`
    const message = `message ${index} for ${path}`
    bytesSent += Buffer.byteLength(message)
    let expected = pending.get(path)
    if (expected === undefined) pending.set(path, expected = new Set())
    expected.add(message)
    // Alternate who arrives first, so both sides wait in turn.
    let produced: Exchange
    let consumed: Exchange
    if (index % 2 === 0) {
      [produced, consumed] = await Promise.all([exchange(producers, port, 'POST', path, message), exchange(consumers, port, 'GET', path)])
    } else {
      [consumed, produced] = await Promise.all([exchange(consumers, port, 'GET', path), exchange(producers, port, 'POST', path, message)])
    }
    if (produced.status !== 200) failures.push(`${path}: producer got ${produced.status}`)
    if (consumed.status !== 200 || !expected.delete(consumed.body)) failures.push(`${path}: consumer got ${consumed.status} ${JSON.stringify(consumed.body)}`)
    if (expected.size === 0) pending.delete(path)
  }

  async function churn (from: number, to: number): Promise<void> {
    let next = from
    async function lane (): Promise<void> {
      while (next < to && failures.length === 0) {
        // A transport error (or a stuck request) stops every lane; it is reported below.
        await pair(next++).catch((err: unknown) => { failures.push(String(err)) })
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  }

  try {
    // Warm up (JIT, sockets, lazily created state) before taking the heap baseline.
    await churn(0, WARM_UP_PAIRS)
    const heapBefore = heapAfterGc()
    await churn(WARM_UP_PAIRS, PAIRS)
    const heapGrowthMb = (heapAfterGc() - heapBefore) / 1024 / 1024
    return { failures: failures.slice(0, 5), undelivered: pending.size, bytesSent, stats: pipe.stats(), heapGrowthMb }
  } finally {
    producers.destroy()
    consumers.destroy()
    await server.close()
  }
}

describe('soak (node:http handler)', () => {
  let churned: Promise<Soak> | undefined
  const churn = async (): Promise<Soak> => await (churned ??= soak())

  it(`churns ${PAIRS} pairs over ${CHANNELS} channels ${IN_FLIGHT} at a time and leaves nothing behind`, async () => {
    const { failures, undelivered, stats, bytesSent } = await churn()
    expect(failures).toEqual([])
    expect(undelivered).toBe(0)
    expect(stats).toMatchObject({ ...ZERO, bytesTransferred: bytesSent })
  }, 120_000)

  // gc comes from exposeGc(), so this runs under a bare `npx jest` too; alone (-t heap) it churns itself.
  it(`keeps the heap after gc within ${HEAP_BOUND_MB} MB of its warmed-up start`, async () => {
    const { heapGrowthMb } = await churn()
    expect(heapGrowthMb).toBeLessThan(HEAP_BOUND_MB)
  }, 120_000)
})
