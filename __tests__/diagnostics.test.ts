import { afterEach, describe, expect, it } from '@jest/globals'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { CHANNELS } from '../lib/diagnostics'
import { adapters } from './helpers/app'
import { listen, open, send, waitUntil, type Listening } from './helpers/http'

let server: Listening | undefined
const subscriptions: Array<[string, (message: unknown) => void]> = []
afterEach(async () => {
  for (const [name, onMessage] of subscriptions.splice(0)) unsubscribe(name, onMessage)
  await server?.close()
  server = undefined
})

/** Every message published on httpipe's channels from now on, as `[channel, message]`. */
function record (): Array<[string, Record<string, unknown>]> {
  const seen: Array<[string, Record<string, unknown>]> = []
  for (const name of Object.values(CHANNELS)) {
    const onMessage = (message: unknown): void => { seen.push([name, message as Record<string, unknown>]) }
    subscribe(name, onMessage)
    subscriptions.push([name, onMessage])
  }
  return seen
}

describe.each(adapters)('diagnostics_channel ($name)', ({ create }) => {
  it('publishes a queue transfer: routed, wait, start, end, with the router and responses', async () => {
    const seen = record()
    const { app, pipe } = create()
    server = await listen(app)
    const producer = send(`${server.url}/channels/ns/ch`, 'POST', 'hello')
    await waitUntil(() => pipe.stats().waitingProducers === 1)
    expect((await send(`${server.url}/channels/ns/ch`, 'GET')).body.toString()).toBe('hello')
    expect((await producer).status).toBe(200)

    expect(seen.map(([name]) => name)).toEqual([
      'httpipe:request:routed', 'httpipe:wait:start', 'httpipe:request:routed', 'httpipe:transfer:start', 'httpipe:transfer:end'
    ])
    const [routed, wait, routedConsumer, start, end] = seen.map(([, message]) => message)
    expect(routed).toMatchObject({ access: { action: 'produce', namespace: 'ns', channel: 'ch' } })
    expect(routedConsumer).toMatchObject({ access: { action: 'consume', namespace: 'ns', channel: 'ch' } })
    expect(wait).toMatchObject({ role: 'producer', namespace: 'ns', channel: 'ch', res: routed?.res })
    expect(start).toMatchObject({ mode: 'queue', namespace: 'ns', channel: 'ch', producer: routed?.res, consumers: [routedConsumer?.res] })
    expect(end).toMatchObject({ mode: 'queue', outcome: 'delivered', bytes: 5, receivers: 1, error: undefined })
    expect(typeof end?.duration).toBe('number')
    // Exactly the documented fields (what httpipe/metrics takes from a start is private to it).
    expect(Object.keys(start ?? {}).sort()).toEqual(['channel', 'consumers', 'mode', 'namespace', 'producer', 'router'])
    expect(Object.keys(end ?? {}).sort()).toEqual(['bytes', 'channel', 'consumers', 'duration', 'error', 'mode', 'namespace', 'outcome', 'producer', 'receivers', 'router'])
    expect(JSON.stringify({ ...start, router: undefined, producer: undefined, consumers: undefined })).toBe('{"mode":"queue","namespace":"ns","channel":"ch"}')
    for (const [, message] of seen) expect(message.router).toBe(pipe)
  })

  it('publishes refusals with their error, and pubsub and live subscriptions', async () => {
    const seen = record()
    const { app, pipe } = create({ links: false })
    server = await listen(app)
    await send(`${server.url}/channels/ns/ch?method=post&body=x`, 'GET')
    const live = open(`${server.url}/channels/ns/ch?pubsub=true`, 'GET', { Accept: 'text/event-stream' })
    await live.response
    await send(`${server.url}/channels/ns/ch?pubsub=true`, 'POST', 'all')
    live.destroy()
    await waitUntil(() => pipe.stats().waitingConsumers === 0)

    const errors = seen.filter(([name]) => name === 'httpipe:request:error').map(([, message]) => (message.error as { type: string }).type)
    expect(errors).toEqual(['links.disabled'])
    expect(seen.find(([name]) => name === 'httpipe:live:start')?.[1]).toMatchObject({ namespace: 'ns', channel: 'ch', pubsub: true })
    expect(seen.find(([name]) => name === 'httpipe:transfer:end')?.[1]).toMatchObject({ mode: 'pubsub', outcome: 'delivered', bytes: 3, receivers: 1 })
  })
})
