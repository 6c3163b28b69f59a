import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Counter, Gauge, register as globalRegistry, type Registry } from 'prom-client'
import type { HttpipeControls } from './core'
import { TalliedHistogram } from './metrics-histogram'
import { CHANNELS, waitsOf, type LiveStartMessage, type RequestErrorMessage, type TransferEndMessage, type TransferStartMessage } from './diagnostics'

export interface HttpipeMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  registry?: Registry | undefined
  /** Prefix of every metric name. Default: `'httpipe_'`. */
  prefix?: string | undefined
}

export interface HttpipeMetrics {
  readonly registry: Registry
  /** Stops listening and removes these metrics from the registry. */
  readonly stop: () => void
}

/**
 * Waits last from milliseconds (a consumer already there) to the minutes a person takes to start
 * the other side, and transfers from a message to a file over a slow link: prom-client's default
 * buckets stop at 10 s.
 */
export const WAIT_BUCKETS = Object.freeze([0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600])
export const TRANSFER_BUCKETS = Object.freeze([0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600])

/**
 * Prometheus metrics of one router (what `httpipe()` or `createHandler()` returned), from its
 * `diagnostics_channel` messages and, at each scrape, its `stats()`. Base units (seconds, bytes);
 * labels are bounded sets (`mode`, `outcome`, `role`, `type`), never a channel or namespace name,
 * which may be secrets and are unbounded. `prom-client` is an optional peer dependency: it is
 * loaded only by this module (`httpipe/metrics`).
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { register } from 'prom-client'
 * import { httpipe } from 'httpipe'
 * import { httpipeMetrics } from 'httpipe/metrics'
 *
 * const app = express()
 * const pipe = httpipe()
 * httpipeMetrics(pipe)
 * app.use('/channels', pipe)
 * app.get('/metrics', async (_req, res) => { res.type(register.contentType).send(await register.metrics()) })
 * ```
 */
export function httpipeMetrics (pipe: HttpipeControls, options: HttpipeMetricsOptions = {}): HttpipeMetrics {
  const { registry = globalRegistry, prefix = 'httpipe_' } = options
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new TypeError(`httpipe: option prefix must be a Prometheus metric name prefix such as "httpipe_", got ${JSON.stringify(prefix)}`)
  }
  const registers = [registry]
  // What happens once per transfer is counted here in plain numbers and handed to prom-client
  // when it is scraped (`collect`, TalliedHistogram): its per-call label handling cost more than
  // everything else these metrics do per pair.
  const ended: Record<TransferEndMessage['mode'], Record<TransferEndMessage['outcome'], number>> = { queue: { delivered: 0, failed: 0 }, pubsub: { delivered: 0, failed: 0 } }
  const reported: typeof ended = { queue: { delivered: 0, failed: 0 }, pubsub: { delivered: 0, failed: 0 } }
  const transfers = new Counter({
    name: `${prefix}transfers_total`,
    help: 'Transfers (queue mode) and broadcasts (pubsub) that ended, by mode and outcome.',
    labelNames: ['mode', 'outcome'] as const,
    registers,
    collect () {
      for (const mode of ['queue', 'pubsub'] as const) {
        for (const outcome of ['delivered', 'failed'] as const) {
          const delta = ended[mode][outcome] - reported[mode][outcome]
          reported[mode][outcome] = ended[mode][outcome]
          // A series shows once it has counted something, as before.
          if (delta > 0) this.inc({ mode, outcome }, delta)
        }
      }
    }
  })
  const refusals = new Counter({ name: `${prefix}refusals_total`, help: 'Requests answered with an error, by error type.', labelNames: ['type'] as const, registers })
  const waits = new TalliedHistogram({ name: `${prefix}wait_duration_seconds`, help: 'Time requests waited until matched, by role.', label: 'role', buckets: WAIT_BUCKETS, registers })
  const durations = new TalliedHistogram({ name: `${prefix}transfer_duration_seconds`, help: 'Time from a match to the end of its transfer, by mode.', label: 'mode', buckets: TRANSFER_BUCKETS, registers })
  let live = 0
  const liveGauge = new Gauge({ name: `${prefix}live_subscriptions`, help: 'Open live (text/event-stream) subscriptions.', registers, collect () { this.set(live) } })
  let counted = 0
  const bytes = new Counter({
    name: `${prefix}transferred_bytes_total`,
    help: 'Message bytes taken from producers and passed on (a pubsub message counts once), running transfers included.',
    registers,
    collect () {
      const now = pipe.stats().bytesTransferred
      if (now > counted) this.inc(now - counted)
      counted = now
    }
  })
  const stat = (name: string, help: string, read: (stats: ReturnType<HttpipeControls['stats']>) => number): Gauge =>
    new Gauge({ name: `${prefix}${name}`, help, registers, collect () { this.set(read(pipe.stats())) } })
  const gauges = [
    stat('running_transfers', 'Transfers and broadcasts under way.', stats => stats.runningTransfers),
    stat('channels', 'Channels that exist (something waits or runs on them).', stats => stats.channels),
    stat('namespaces', 'Namespaces that exist.', stats => stats.namespaces)
  ]
  const waiting = new Gauge({
    name: `${prefix}waiting_requests`,
    help: 'Requests waiting to be matched, by role (consumer includes subscribers).',
    labelNames: ['role'] as const,
    registers,
    collect () {
      const stats = pipe.stats()
      this.set({ role: 'producer' }, stats.waitingProducers)
      this.set({ role: 'consumer' }, stats.waitingConsumers)
    }
  })

  // Looked up once: each is observed into per pair.
  const producerWaits = waits.tally('producer')
  const consumerWaits = waits.tally('consumer')
  const subscriberWaits = waits.tally('subscriber')
  const queueDurations = durations.tally('queue')
  const pubsubDurations = durations.tally('pubsub')
  const handlers: Record<string, (message: unknown) => void> = {
    // The waits come with the start (diagnostics.ts waitsOf): nothing is kept per waiting
    // response, and `httpipe:wait:start` is not subscribed to (a WeakMap keyed by responses, set
    // there, was the costliest thing these metrics did per pair).
    [CHANNELS.transferStart]: message => {
      const start = message as TransferStartMessage
      if (start.router !== pipe) return
      const waited = waitsOf(start)
      if (waited === undefined) return
      if (start.mode === 'queue') {
        // One matched on arrival (-1) waited 0 s.
        producerWaits.observe(Math.max(waited[0] as number, 0) / 1000)
        for (let i = 1; i < waited.length; i++) consumerWaits.observe(Math.max(waited[i] as number, 0) / 1000)
        return
      }
      // A publisher never waits; a live pubsub subscription waited only before its first message.
      for (let i = 1; i < waited.length; i++) {
        const ms = waited[i] as number
        if (ms >= 0) subscriberWaits.observe(ms / 1000)
      }
    },
    [CHANNELS.transferEnd]: message => {
      const { router, mode, outcome, duration } = message as TransferEndMessage
      if (router !== pipe) return
      ended[mode][outcome]++
      ;(mode === 'queue' ? queueDurations : pubsubDurations).observe(duration / 1000)
    },
    [CHANNELS.requestError]: message => {
      const { router, error } = message as RequestErrorMessage
      if (router !== pipe) return
      const type = (error as { type?: unknown } | null)?.type
      refusals.inc({ type: typeof type === 'string' && /^[\w.]{1,64}$/.test(type) ? type : 'other' })
    },
    [CHANNELS.liveStart]: message => {
      const { router, res } = message as LiveStartMessage
      if (router !== pipe) return
      live++
      res.once('close', () => { live-- })
    }
  }
  for (const [name, handler] of Object.entries(handlers)) subscribe(name, handler)
  const metrics = [transfers, refusals, waits, durations, liveGauge, bytes, waiting, ...gauges]

  return {
    registry,
    stop: () => {
      for (const [name, handler] of Object.entries(handlers)) unsubscribe(name, handler)
      // The registry hands back the metric objects themselves, with their names typed.
      const ours: readonly object[] = metrics
      for (const metric of registry.getMetricsAsArray()) if (ours.includes(metric)) registry.removeSingleMetric(metric.name)
    }
  }
}
