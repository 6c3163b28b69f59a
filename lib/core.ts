import type { IncomingMessage, ServerResponse } from 'node:http'
import { accessCheck } from './authorize'
import { ChannelRegistry } from './channel-registry'
import { registerRouter } from './diagnostics'
import { Dispatcher } from './dispatch'
import * as errors from './errors'
import { Intake } from './intake'
import { resolveOptions, type HttpipeOptions } from './options'
import type * as ReqResModule from './reqres-mode'
import type { ReqResMode, ReqResStats } from './reqres-mode'
import { isExchangePath } from './reqres-route'
import { TransferRunner } from './transfer-runner'
import { TransferTracker, type TransferProgress } from './transfer-tracker'
import type { ConsumerWaiter, Next, ProducerWaiter } from './waiter'
import { WaitingRoom } from './waiting-room'

export type { TransferProgress } from './transfer-tracker'
export type { Next } from './waiter'

/** Counters of a router or handler at one moment. */
export interface HttpipeStats {
  namespaces: number
  channels: number
  waitingProducers: number
  /** Waiting consumers, pubsub subscribers, live pubsub subscriptions, queue-mode live ones between messages. */
  waitingConsumers: number
  runningTransfers: number
  /**
   * Message bytes read from producers and passed on since creation, running transfers included
   * (also those of transfers that failed later). A pubsub message counts once.
   */
  bytesTransferred: number
  /** Each running transfer with its progress. */
  transfers: TransferProgress[]
  /** The request/response mode (`router.reqres`); its exchanges also count in `runningTransfers`. */
  reqres: ReqResStats
}

/** What `httpipe()` and `createHandler()` add to the function they return. */
export interface HttpipeControls {
  /** Counters right now (SPEC §7). */
  stats: () => HttpipeStats
  /**
   * Stops taking requests: new and waiting ones get `503`, running transfers finish.
   * Resolves when no transfer is running. Idempotent.
   */
  close: () => Promise<void>
}

export interface PipeCore extends HttpipeControls {
  handle: (req: IncomingMessage, res: ServerResponse, next: Next) => void
  /** The request/response mode, sharing this core's options, waiter budget, tracker (stats, close). */
  handleReqRes: ReqResMode['handle']
}

/**
 * The request handling shared by the Express router and the plain `node:http` handler, wired
 * from its parts: the registry (who waits where), the tracker (what runs), the waiting room
 * (each waiter's lifecycle), the runner (transfers and broadcasts), the intake (requests into
 * waiters) and the dispatcher (routes).
 */
export function createPipeCore (options?: HttpipeOptions, owner?: object): PipeCore {
  const config = resolveOptions(options)
  // What diagnostics_channel messages name as their router (diagnostics.ts).
  if (owner !== undefined) registerRouter(config, owner)
  // `limits.waiters` is the whole router's: requesters and responders waiting draw on it too (and
  // the mode reads the channels' count the same way, below). Read only when a request would queue.
  const registry = new ChannelRegistry<ProducerWaiter, ConsumerWaiter>({
    concurrency: config.concurrency,
    waitersPerChannel: config.waitersPerChannel,
    get waiters () { return config.waiters - (reqres?.waiting() ?? 0) }
  })
  const tracker = new TransferTracker()
  const room: WaitingRoom = new WaitingRoom(config, registry, tracker, transfer => { runner.start(transfer) })
  const runner = new TransferRunner(config, registry, tracker, room)
  const dispatcher = new Dispatcher(config, registry, tracker, room, new Intake(config, room, runner))
  // The request/response mode is made with its first request (`/req/…`, `/res/…`): its ten modules
  // are about 2 MB of a process's memory, which a router only ever used for channels never needs.
  let reqres: ReqResMode | undefined
  function reqresMode (): ReqResMode {
    reqres ??= (require('./reqres-mode') as typeof ReqResModule).createReqResMode(config, tracker, {
      waitingElsewhere: () => { const { waitingProducers, waitingConsumers } = registry.stats(); return waitingProducers + waitingConsumers },
      authorize: config.authorize === undefined ? undefined : accessCheck(config.authorize)
    })
    return reqres
  }

  function handleReqRes (req: IncomingMessage, res: ServerResponse, next: Next, pass: () => void): void {
    if (reqres === undefined && !isExchangePath(req.url ?? '/')) return pass()
    reqresMode().handle(req, res, next, pass)
  }

  function handle (req: IncomingMessage, res: ServerResponse, next: Next): void {
    dispatcher.handle(req, res, next)
  }

  function stats (): HttpipeStats {
    return { ...registry.stats(), ...tracker.stats(), reqres: reqres?.stats() ?? { waitingRequesters: 0, waitingResponders: 0, exchanges: 0, jobs: 0, bytesTransferred: 0 } }
  }

  function close (): Promise<void> {
    const wasClosed = tracker.closed
    // Closed first: nothing turned away below may queue again (a live consumer resubscribing, a
    // two-step reply standing for its responder's next poll).
    const idle = tracker.close()
    if (!wasClosed) {
      // Requests whose authorize verdict is pending are not waiters: answered here.
      dispatcher.closeGate()
      room.turnAwayAll(registry.evictAll(), () => errors.routerClosed())
      reqres?.turnAwayAll()
    }
    return idle
  }

  return { handle, handleReqRes, stats, close }
}
