import { createHash, randomBytes } from 'node:crypto'
import { request, type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { open, send, type OpenRequest, type RawResponse } from './helpers/http'
import { HAPROXY, NGINX, connectionsTo, freePort, startHaproxy, startNginx, type ConfigChanges, type Proxy } from './helpers/proxies'
import { startStandalone, type Standalone } from './helpers/standalone'

// The configurations under examples/deploy/, run by Debian's nginx and HAProxy in front of the
// built CLI: the contract through each proxy, a 3-instance fleet sharded by namespace, and one
// negative control per timeout directive. CI installs both proxies (.ci/run).

const KiB = 1024
const MiB = 1024 * KiB
const skipped = (what: string, binary: string): string =>
  `${what}: SKIPPED because ${binary} is not installed (apt-get install ${binary})`

let instances: Standalone[] = []
const upstreams = (count = instances.length): string[] => instances.slice(0, count).map(instance => instance.url.replace('http://', ''))
const ports = (): number[] => instances.map(instance => Number(new URL(instance.url).port))

beforeAll(async () => {
  if (NGINX === undefined && HAPROXY === undefined) return
  instances = await Promise.all([0, 1, 2].map(async () => await startStandalone()))
}, 30_000)
afterAll(async () => { await Promise.all(instances.map(async instance => { await instance.stop() })) })

async function proxyOn (kind: 'nginx' | 'haproxy', file: string, changes: Omit<ConfigChanges, 'port'>): Promise<Proxy> {
  const port = await freePort()
  return kind === 'nginx' ? await startNginx(file, { ...changes, port }) : await startHaproxy(file, { ...changes, port })
}

/** The channels waiting in `namespace` on each instance (asked directly, not through the proxy). */
async function channelsOn (namespace: string): Promise<string[][]> {
  return await Promise.all(instances.map(async instance => {
    const res = await send(`${instance.url}/channels/${encodeURIComponent(namespace)}`, 'GET')
    return res.status === 200 ? JSON.parse(res.body.toString()) as string[] : []
  }))
}

/** Polls the instances' listings (once per event-loop turn, bounded) until `done` holds. */
async function until (what: string, done: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await done()) {
    if (Date.now() > deadline) throw new Error(`still not: ${what}`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

const waiting = async (namespace: string, channel: string): Promise<void> => {
  await until(`${namespace}/${channel} waiting`, async () => (await channelsOn(namespace)).some(list => list.includes(channel)))
}
const empty = async (namespace: string, ms?: number): Promise<void> => {
  await until(`${namespace} empty`, async () => (await channelsOn(namespace)).every(list => list.length === 0), ms)
}

/**
 * Opens a request through the proxy and resolves once an instance holds it: a new connection to
 * an instance has appeared. Only for one request at a time, so that each arrives before the next.
 */
async function arrived (start: () => OpenRequest): Promise<OpenRequest> {
  const before = await connectionsTo(ports())
  const request = start()
  await until('the request reached an instance', async () => [...await connectionsTo(ports())].some(c => !before.has(c)))
  return request
}

async function produce (base: string, path: string, body: Buffer | string): Promise<RawResponse> {
  return await send(`${base}/channels/${path}`, 'POST', body, { 'Content-Type': 'application/octet-stream' })
}

/** Sends `total` bytes of a repeated random MiB, returning their sha256. */
async function stream (request: OpenRequest, total: number): Promise<string> {
  const block = randomBytes(MiB)
  const hash = createHash('sha256')
  for (let sent = 0; sent < total; sent += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, total - sent))
    hash.update(chunk)
    await request.write(chunk)
  }
  request.end()
  return hash.digest('hex')
}

/** A consumer that hashes what it receives instead of keeping it. */
async function hashedGet (url: string): Promise<{ status: number, bytes: number, sha: string, complete: boolean }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(url, { agent: false }, resolve).once('error', reject).end()
  })
  const hash = createHash('sha256')
  let bytes = 0
  res.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length })
  const complete = await new Promise<boolean>(resolve => {
    res.once('end', () => { resolve(res.complete) })
    res.once('close', () => { resolve(res.complete) })
  })
  return { status: res.statusCode ?? 0, bytes, sha: hash.digest('hex'), complete }
}

/** The contract through a proxy at `base()`, in namespaces prefixed by `tag`. */
function contract (tag: string, base: () => string): void {
  it('keeps rendezvous in both arrival orders, FIFO, pubsub and a live subscription', async () => {
    const url = (path: string): string => `${base()}/channels/${tag}-${path}`
    const bothOrders = async (): Promise<void> => {
      const producer = open(url('order/p-first'), 'POST')
      producer.end('producer first')
      await waiting(`${tag}-order`, 'p-first')
      const got = await send(url('order/p-first'), 'GET')
      expect([got.status, got.body.toString()]).toEqual([200, 'producer first'])
      expect((await producer.done).status).toBe(200)

      const consumer = open(url('order/c-first'), 'GET')
      await waiting(`${tag}-order`, 'c-first')
      expect((await produce(base(), `${tag}-order/c-first`, 'consumer first')).status).toBe(200)
      const received = await consumer.done
      expect([received.status, received.body.toString(), received.complete]).toEqual([200, 'consumer first', true])
    }
    const pubsub = async (): Promise<void> => {
      const subscribers = [open(url('pubsub/room?pubsub=true'), 'GET'), open(url('pubsub/room?pubsub=true'), 'GET')]
      await waiting(`${tag}-pubsub`, 'room')
      // Both subscribers must be queued before the message goes out; the listing shows the channel
      // once the first is, so wait for the second by publishing until it reaches both.
      const published = await produce(base(), `${tag}-pubsub/room?pubsub=true`, 'to all')
      const receivers = Number(published.headers['x-httpipe-receivers'])
      expect(published.status).toBe(200)
      const bodies = await Promise.all(subscribers.slice(0, receivers).map(async s => (await s.done).body.toString()))
      expect(bodies).toEqual(Array(receivers).fill('to all'))
      if (receivers === 1) {
        expect((await produce(base(), `${tag}-pubsub/room?pubsub=true`, 'to all')).headers['x-httpipe-receivers']).toBe('1')
        expect((await (subscribers[1] as OpenRequest).done).body.toString()).toBe('to all')
      }
    }
    const live = async (): Promise<void> => {
      const subscription = open(url('live/feed'), 'GET', { Accept: 'text/event-stream' })
      const res = await subscription.response
      expect([res.statusCode, res.headers['content-type']]).toEqual([200, expect.stringMatching(/^text\/event-stream/)])
      let text = ''
      const events = new Promise<void>(resolve => {
        res.on('data', (chunk: Buffer) => { text += chunk.toString(); if (text.includes('data: second\n\n')) resolve() })
      })
      await waiting(`${tag}-live`, 'feed')
      expect((await produce(base(), `${tag}-live/feed`, 'first')).status).toBe(200)
      await waiting(`${tag}-live`, 'feed')
      expect((await produce(base(), `${tag}-live/feed`, 'second')).status).toBe(200)
      await events
      expect(text.match(/^data: .*$/gm)).toEqual(['data: first', 'data: second'])
      subscription.destroy()
    }
    await Promise.all([bothOrders(), pubsub(), live()])
    await fifo(base(), `${tag}-fifo`)
  })

  it('withdraws a waiting consumer or producer that leaves, with 1 KiB and 64 MiB bodies', async () => {
    const url = (path: string): string => `${base()}/channels/${path}`
    const consumerLeaves = async (size: number): Promise<void> => {
      const ns = `${tag}-gone-consumer-${size}`
      const ghost = open(url(`${ns}/ch`), 'GET')
      await waiting(ns, 'ch')
      ghost.destroy()
      await empty(ns)
      const consumer = hashedGet(url(`${ns}/ch`))
      await waiting(ns, 'ch')
      const producer = open(url(`${ns}/ch`), 'POST', { 'Content-Length': size })
      const sent = await stream(producer, size)
      expect(await consumer).toEqual({ status: 200, bytes: size, sha: sent, complete: true })
      expect((await producer.done).status).toBe(200)
    }
    const producerLeaves = async (size: number): Promise<void> => {
      const ns = `${tag}-gone-producer-${size}`
      const ghost = open(url(`${ns}/ch`), 'POST', { 'Content-Length': size })
      // The whole small body, or the first MiB of the big one (the rest blocks: nobody reads it).
      ghost.write(randomBytes(Math.min(size, MiB))).catch(() => {})
      await waiting(ns, 'ch')
      ghost.destroy()
      await empty(ns)
      const consumer = open(url(`${ns}/ch`), 'GET')
      await waiting(ns, 'ch')
      expect((await produce(base(), `${ns}/ch`, 'the real one')).status).toBe(200)
      const got = await consumer.done
      expect([got.status, got.body.toString(), got.complete]).toEqual([200, 'the real one', true])
    }
    await Promise.all([consumerLeaves(KiB), consumerLeaves(64 * MiB), producerLeaves(KiB)])
  }, 60_000)

  // Not seen behind either proxy, and not something httpipe can see: the client's FIN waits in its
  // kernel behind a zero window, and neither proxy writes to a waiting client (docs/deploy.md,
  // "Departure probes behind a proxy"). Kept as `it.failing` so that the day it passes is noticed.
  it.failing('withdraws a waiting producer with a 64 MiB body that leaves', async () => {
    const ns = `${tag}-gone-producer-big`
    const url = `${base()}/channels/${ns}/ch`
    const ghost = open(url, 'POST', { 'Content-Length': 64 * MiB })
    ghost.write(randomBytes(MiB)).catch(() => {})
    await waiting(ns, 'ch')
    ghost.destroy()
    await empty(ns, 3000)
  })

  it('cuts the consumer matched with a vanished 64 MiB producer; the next one gets the next message', async () => {
    const ns = `${tag}-stranded-big`
    const url = `${base()}/channels/${ns}/ch`
    const ghost = open(url, 'POST', { 'Content-Length': 64 * MiB })
    ghost.write(randomBytes(MiB)).catch(() => {})
    await waiting(ns, 'ch')
    ghost.destroy()
    const cut = await open(url, 'GET').done.catch(() => undefined)
    // A status line may or may not have come before the cut; a complete body never does.
    expect(cut?.complete ?? false).toBe(false)
    await empty(ns)
    const consumer = open(url, 'GET')
    await waiting(ns, 'ch')
    expect((await produce(base(), `${ns}/ch`, 'the real one')).status).toBe(200)
    const got = await consumer.done
    expect([got.status, got.body.toString(), got.complete]).toEqual([200, 'the real one', true])
  }, 30_000)

  it('carries 256 MiB intact (equal sha256)', async () => {
    const path = `${tag}-bulk/big`
    const consumer = hashedGet(`${base()}/channels/${path}`)
    await waiting(`${tag}-bulk`, 'big')
    const producer = open(`${base()}/channels/${path}`, 'POST', { 'Content-Length': 256 * MiB })
    const sent = await stream(producer, 256 * MiB)
    expect(await consumer).toEqual({ status: 200, bytes: 256 * MiB, sha: sent, complete: true })
    expect((await producer.done).status).toBe(200)
  }, 120_000)
}

/** Three producers queued one after another through the proxy, then three consumers: first in, first out. */
async function fifo (base: string, namespace: string): Promise<void> {
  const url = `${base}/channels/${encodeURIComponent(namespace)}/queue`
  const producers: OpenRequest[] = []
  for (const n of [1, 2, 3]) {
    producers.push(await arrived(() => {
      const producer = open(url, 'POST')
      producer.end(`message ${n}`)
      return producer
    }))
  }
  await waiting(namespace, 'queue')
  const received: string[] = []
  for (let n = 0; n < 3; n++) received.push((await send(url, 'GET')).body.toString())
  expect(received).toEqual(['message 1', 'message 2', 'message 3'])
  expect(await Promise.all(producers.map(async p => (await p.done).status))).toEqual([200, 200, 200])
}

/** 30 namespaces through a fleet proxy: all instances get some, each keeps rendezvous, FIFO and DELETE /{ns}. */
function fleet (tag: string, base: () => string): void {
  it('spreads 30 namespaces over all 3 instances, each keeping rendezvous, FIFO and DELETE /{ns}', async () => {
    // Names that need percent-encoding too: the proxies hash the decoded namespace.
    const namespaces = Array.from({ length: 30 }, (_, i) => `${tag}-${i % 5 === 0 ? 'café' : 'ns'}-${i}`)
    const home = await Promise.all(namespaces.map(async ns => {
      const url = `${base()}/channels/${encodeURIComponent(ns)}/ch`
      const consumer = open(url, 'GET')
      await waiting(ns, 'ch')
      const lists = await channelsOn(ns)
      expect(lists.filter(list => list.length > 0)).toHaveLength(1)
      expect((await produce(base(), `${encodeURIComponent(ns)}/ch`, ns)).status).toBe(200)
      expect((await consumer.done).body.toString()).toBe(ns)

      // DELETE /{ns} through the proxy reaches the instance where the namespace's waiters are.
      const doomed = open(`${base()}/channels/${encodeURIComponent(ns)}/other`, 'GET')
      await waiting(ns, 'other')
      expect((await send(`${base()}/channels/${encodeURIComponent(ns)}`, 'DELETE')).status).toBe(204)
      expect((await doomed.done).status).toBe(410)
      return lists.findIndex(list => list.length > 0)
    }))
    const spread = [0, 1, 2].map(i => home.filter(h => h === i).length)
    expect(spread.every(count => count > 0)).toBe(true)
    // Producers queued one at a time (so each reaches its instance before the next is sent).
    for (const ns of namespaces) await fifo(base(), ns)
  }, 60_000)
}

const describeNginx = NGINX === undefined ? describe.skip : describe
const describeHaproxy = HAPROXY === undefined ? describe.skip : describe

describeNginx(NGINX === undefined ? skipped('nginx (examples/deploy/nginx.conf)', 'nginx') : 'nginx, one instance (examples/deploy/nginx.conf)', () => {
  let proxy: Proxy | undefined
  beforeAll(async () => { proxy = await proxyOn('nginx', 'nginx.conf', { upstreams: upstreams(1) }) }, 30_000)
  afterAll(async () => { await proxy?.stop() })
  contract('nginx', () => proxy?.url ?? '')
})

describeHaproxy(HAPROXY === undefined ? skipped('HAProxy (examples/deploy/haproxy-fleet.cfg)', 'haproxy') : 'HAProxy, 3 instances (examples/deploy/haproxy-fleet.cfg)', () => {
  let proxy: Proxy | undefined
  beforeAll(async () => { proxy = await proxyOn('haproxy', 'haproxy-fleet.cfg', { upstreams: upstreams() }) }, 30_000)
  afterAll(async () => { await proxy?.stop() })
  contract('haproxy', () => proxy?.url ?? '')
  fleet('haproxy-fleet', () => proxy?.url ?? '')
})

describeNginx(NGINX === undefined ? skipped('nginx fleet (examples/deploy/nginx-fleet.conf)', 'nginx') : 'nginx, 3 instances (examples/deploy/nginx-fleet.conf)', () => {
  let proxy: Proxy | undefined
  beforeAll(async () => { proxy = await proxyOn('nginx', 'nginx-fleet.conf', { upstreams: upstreams() }) }, 30_000)
  afterAll(async () => { await proxy?.stop() })
  fleet('nginx-fleet', () => proxy?.url ?? '')
})

// Negative controls: each timeout directive of the examples, shortened to 2 s, cuts a request that
// pauses for 3 s in the way that directive guards; at the documented value the same pause passes.
// The pause is a real 3 s wait (it is what is under test); all controls run at once.
const PAUSE = 3000
const pause = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, PAUSE)) }

/** Each scenario: proxied request(s) through `base`, the other side directly on `direct`; resolves true when delivered intact. */
const scenarios = {
  /** A consumer waits 3 s for its producer. */
  async consumerWaits (base: string, direct: string, ns: string): Promise<boolean> {
    const consumer = open(`${base}/channels/${ns}/ch`, 'GET')
    await waiting(ns, 'ch')
    await pause()
    produce(direct, `${ns}/ch`, 'after the pause').catch(() => {})
    const got = await consumer.done.catch(() => undefined)
    return got?.status === 200 && got.complete && got.body.toString() === 'after the pause'
  },
  /** A producer pauses 3 s in the middle of its upload. */
  async producerPauses (base: string, direct: string, ns: string): Promise<boolean> {
    const consumer = open(`${direct}/channels/${ns}/ch`, 'GET')
    await waiting(ns, 'ch')
    const producer = open(`${base}/channels/${ns}/ch`, 'POST', { 'Content-Length': 10 })
    await producer.write('first')
    await pause()
    producer.end('-last')
    const got = await consumer.done.catch(() => undefined)
    return got?.status === 200 && got.complete && got.body.toString() === 'first-last'
  },
  /** A producer of 64 MiB waits 3 s for its consumer (its upload stalls meanwhile). */
  async producerWaitsBig (base: string, direct: string, ns: string): Promise<boolean> {
    const producer = open(`${base}/channels/${ns}/ch`, 'POST', { 'Content-Length': 64 * MiB })
    const sent = stream(producer, 64 * MiB).catch(() => '')
    await waiting(ns, 'ch')
    await pause()
    // A producer the proxy cut has been withdrawn: a consumer now would wait for nobody.
    if (!(await channelsOn(ns)).some(list => list.includes('ch'))) return false
    const got = await hashedGet(`${direct}/channels/${ns}/ch`)
    return got.complete && got.sha === await sent
  },
  /** A consumer of 64 MiB stops reading for 3 s after the first bytes. */
  async consumerPausesBig (base: string, direct: string, ns: string): Promise<boolean> {
    const consumer = new Promise<IncomingMessage>((resolve, reject) => {
      request(`${base}/channels/${ns}/ch`, { agent: false }, resolve).once('error', reject).end()
    })
    await waiting(ns, 'ch')
    const producer = open(`${direct}/channels/${ns}/ch`, 'POST', { 'Content-Length': 64 * MiB })
    const sent = stream(producer, 64 * MiB).catch(() => '')
    const res = await consumer
    const hash = createHash('sha256')
    res.once('data', () => { res.pause(); setTimeout(() => res.resume(), PAUSE) })
    res.on('data', (chunk: Buffer) => hash.update(chunk))
    const complete = await new Promise<boolean>(resolve => {
      res.once('end', () => { resolve(res.complete) })
      res.once('close', () => { resolve(res.complete) })
    })
    return complete && hash.digest('hex') === await sent
  }
} as const
type Scenario = keyof typeof scenarios

/** Each directive, and the pause it guards (found by running every scenario against each). */
const CONTROLS: ReadonlyArray<readonly ['nginx' | 'haproxy', string, Scenario]> = [
  ['nginx', 'proxy_read_timeout', 'consumerWaits'],
  ['nginx', 'proxy_send_timeout', 'producerWaitsBig'],
  ['nginx', 'client_body_timeout', 'producerPauses'],
  ['nginx', 'send_timeout', 'consumerPausesBig'],
  ['haproxy', 'timeout server', 'consumerWaits'],
  ['haproxy', 'timeout server', 'producerWaitsBig'],
  ['haproxy', 'timeout client', 'consumerPausesBig']
]
const FILES = { nginx: 'nginx.conf', haproxy: 'haproxy-fleet.cfg' } as const
const present = { nginx: NGINX !== undefined, haproxy: HAPROXY !== undefined }

describe('timeout directives (negative controls)', () => {
  const controls = CONTROLS.filter(([kind]) => present[kind])
  const title = controls.length === CONTROLS.length ? 'each one shortened to 2 s cuts a 3 s pause; at the documented value none is cut' : skipped('timeout directives', present.nginx ? 'haproxy' : 'nginx')
  const itIf = controls.length === 0 ? it.skip : it
  itIf(title, async () => {
    const direct = instances[0]?.url ?? ''
    const shortened = controls.map(async ([kind, directive, scenario], i) => {
      const proxy = await proxyOn(kind, FILES[kind], { upstreams: upstreams(1), set: { [directive]: '2s' } })
      try {
        return `${kind} ${directive} 2s, ${scenario}: ${await scenarios[scenario](proxy.url, direct, `short-${i}-${scenario}`) ? 'intact' : 'cut'}`
      } finally { await proxy.stop() }
    })
    const documented = controls.map(async ([kind, directive, scenario], i) => {
      const proxy = await proxyOn(kind, FILES[kind], { upstreams: upstreams(1) })
      try {
        return `${kind} ${directive} as documented, ${scenario}: ${await scenarios[scenario](proxy.url, direct, `doc-${i}-${scenario}`) ? 'intact' : 'cut'}`
      } finally { await proxy.stop() }
    })
    const lines = await Promise.all([...shortened, ...documented])
    expect(lines).toEqual([
      ...controls.map(([kind, directive, scenario]) => `${kind} ${directive} 2s, ${scenario}: cut`),
      ...controls.map(([kind, directive, scenario]) => `${kind} ${directive} as documented, ${scenario}: intact`)
    ])
  }, 60_000)
})

// Negative control for `option abortonclose`: HAProxy sees a waiting consumer's client leave (it
// reads the FIN), but only with the option does it drop its connection to httpipe, which withdraws
// the waiter. Without it the consumer stays queued: shown for the same 3 s pause as above (a
// "never" can only be shown for a bounded time; the withdrawal with the option takes milliseconds).
describeHaproxy(HAPROXY === undefined ? skipped('option abortonclose (negative control)', 'haproxy') : 'option abortonclose (negative control)', () => {
  it('without it a waiting consumer that leaves stays queued; with it the consumer is withdrawn', async () => {
    const [without, documented] = await Promise.all([
      proxyOn('haproxy', 'haproxy-fleet.cfg', { upstreams: upstreams(1), drop: ['option abortonclose'] }),
      proxyOn('haproxy', 'haproxy-fleet.cfg', { upstreams: upstreams(1) })
    ])
    try {
      const leave = async (proxy: Proxy, ns: string): Promise<void> => {
        const ghost = open(`${proxy.url}/channels/${ns}/ch`, 'GET')
        await waiting(ns, 'ch')
        ghost.destroy()
      }
      await Promise.all([leave(without, 'no-abortonclose'), leave(documented, 'abortonclose')])
      await empty('abortonclose')
      await pause()
      expect((await channelsOn('no-abortonclose')).flat()).toEqual(['ch'])
      // Clean up the stranded waiter directly on the instance.
      expect((await send(`${instances[0]?.url ?? ''}/channels/no-abortonclose`, 'DELETE')).status).toBe(204)
      await empty('no-abortonclose')
    } finally {
      await Promise.all([without.stop(), documented.stop()])
    }
  }, 30_000)
})
