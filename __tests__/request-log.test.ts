import { createHash } from 'node:crypto'
import { get } from 'node:http'
import { afterEach, describe, expect, it } from '@jest/globals'
import pino from 'pino'
import { createStandaloneServer } from '../lib/server'
import { requestLog, type RequestLog } from '../lib/request-log'
import { open, send, waitUntil } from './helpers/http'
import type { AddressInfo } from 'node:net'

// The standalone server's request lines, field by field, from one in-process server.
let stopAll: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const stop of stopAll.reverse()) await stop()
  stopAll = []
})

async function start (channelNames = false): Promise<{ url: string, lines: Array<Record<string, unknown>>, pipe: ReturnType<typeof createStandaloneServer>['pipe'] }> {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  // As the CLI does: the log needs the router, which the server creates.
  const { server, pipe } = createStandaloneServer({}, { onRequest: (req, res) => { log.onRequest(req, res) } })
  const log: RequestLog = requestLog(logger, pipe, channelNames)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  stopAll.push(async () => {
    log.stop()
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/channels`, lines, pipe }
}

const shortHash = (name: string): string => createHash('sha256').update(name).digest('hex').slice(0, 12)
const requests = (lines: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> => lines.filter(line => line.msg === 'request')

describe('requestLog', () => {
  it('writes one line per request: action, namespace, the channel hashed, bytes, wait and transfer ms', async () => {
    const { url, lines, pipe } = await start()
    const consumer = send(`${url}/ns/ch`, 'GET')
    // Waited for on the router, not by listing: each listing tried too early would log a line of its own.
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${url}/ns`, 'GET')).status).toBe(200)
    expect((await send(`${url}/ns/ch`, 'POST', 'hello')).status).toBe(200)
    expect((await consumer).status).toBe(200)
    // A second pair on the same channel gets the same hash, and another channel another one.
    const again = send(`${url}/ns/ch`, 'POST', 'abc')
    expect((await send(`${url}/ns/ch`, 'GET')).status).toBe(200)
    await again
    expect((await send(`${url}/ns/other`, 'PATCH')).status).toBe(405)
    await waitUntil(() => requests(lines).length === 6)
    const [listing, ...rest] = requests(lines).filter(line => line.method !== 'GET' || line.channel !== undefined || line.action === 'list')
    expect(listing).toMatchObject({ method: 'GET', status: 200, action: 'list', namespace: 'ns' })
    const pairs = rest.filter(line => line.status === 200)
    expect(pairs).toHaveLength(4)
    for (const line of pairs) {
      expect(line).toMatchObject({ namespace: 'ns', channel: shortHash('ns/ch') })
      expect(Object.keys(line).sort()).toEqual(['action', 'bytes', 'channel', 'hostname', 'level', 'method', 'ms', 'msg', 'namespace', 'pid', 'status', 'time', 'transferMs', 'waitMs'])
      for (const key of ['ms', 'transferMs', 'waitMs']) expect(typeof line[key]).toBe('number')
    }
    expect(pairs.filter(line => line.method === 'POST').map(line => [line.action, line.bytes])).toEqual([['produce', 5], ['produce', 3]])
    expect(pairs.filter(line => line.method === 'GET').map(line => [line.action, line.bytes])).toEqual([['consume', 5], ['consume', 3]])
    // A method that asks for no action is refused before it is routed: no action, no channel.
    const refused = requests(lines).find(line => line.status === 405)
    expect(refused).toMatchObject({ method: 'PATCH', error: 'method.not.allowed' })
    expect(refused?.channel).toBeUndefined()
  })

  it('counts the bytes of a 1 MiB pair, and marks both sides of a pair whose producer left mid-body', async () => {
    const { url, lines, pipe } = await start(true)
    const MiB = 1024 * 1024
    const consumer = send(`${url}/ns/big`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    expect((await send(`${url}/ns/big`, 'POST', Buffer.alloc(MiB, 'b'))).status).toBe(200)
    expect((await consumer).body.length).toBe(MiB)
    await waitUntil(() => requests(lines).length === 2)
    const sorted = requests(lines).map(line => [line.action, line.status, line.bytes, line.aborted]).sort()
    expect(sorted).toEqual([['consume', 200, MiB, undefined], ['produce', 200, MiB, undefined]])
    // A producer that declares 1 MiB, sends 256 KiB (past the socket buffers) and goes away once
    // the consumer has all of it.
    let received = 0
    const cutConsumer = new Promise<boolean>((resolve, reject) => {
      let began = false
      get(`${url}/ns/cut`, res => {
        began = true
        res.on('data', (chunk: Buffer) => { received += chunk.length })
        res.once('close', () => { resolve(res.complete) })
      }).once('error', err => { if (began) resolve(false); else reject(err) })
    })
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    const producer = open(`${url}/ns/cut`, 'POST', { 'Content-Length': MiB })
    await producer.write(Buffer.alloc(256 * 1024, 'c'))
    await waitUntil(() => received === 256 * 1024)
    producer.destroy()
    expect(await cutConsumer).toBe(false)
    await waitUntil(() => requests(lines).length === 4)
    const sides = requests(lines).filter(line => line.channel === 'cut')
    expect(sides.find(line => line.method === 'POST')).toMatchObject({ action: 'produce', bytes: 256 * 1024, aborted: true })
    expect(sides.find(line => line.method === 'GET')).toMatchObject({ action: 'consume', status: 200, bytes: 256 * 1024, aborted: true })
  })

  it('names channels with channelNames, sums a live subscription, and marks a request whose client left', async () => {
    const { url, lines, pipe } = await start(true)
    const live = open(`${url}/ns/feed`, 'GET', { Accept: 'text/event-stream' })
    await live.response
    for (const body of ['one', 'three']) expect((await send(`${url}/ns/feed`, 'POST', body)).status).toBe(200)
    live.destroy()
    await waitUntil(() => requests(lines).length === 3)
    const gone = open(`${url}/ns/wait`, 'GET')
    await waitUntil(() => pipe.stats().waitingConsumers === 1)
    gone.destroy()
    await waitUntil(() => requests(lines).length === 4)
    const feed = requests(lines).filter(line => line.channel === 'feed')
    expect(feed.find(line => line.method === 'GET')).toMatchObject({ action: 'consume', status: 200, bytes: 8, aborted: true })
    const waited = requests(lines).find(line => line.channel === 'wait')
    expect(waited).toMatchObject({ method: 'GET', action: 'consume', aborted: true })
    expect(waited?.status).toBeUndefined()
    expect(typeof waited?.waitMs).toBe('number')
  })
})
