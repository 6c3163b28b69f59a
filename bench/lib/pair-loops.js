'use strict'
// The pair engine behind the pairs and scale scenarios: `concurrency` loops, each starting a GET
// and a POST of one 64-byte message (a pair) and waiting for both before the next pair.

const { performance } = require('node:perf_hooks')
const { HttpConnection, startStallWatchdog } = require('./http-client.js')
const { readMessageId } = require('./messages.js')
const { getHead, postMessageHead, postMessageRequest } = require('./relay-ops.js')
const { LatencyRecorder } = require('./stats.js')
const { ErrorLog } = require('./error-log.js')

const HEAD_CACHE_LIMIT = 4096
const RECONNECT_ATTEMPTS = 20
const RECONNECT_DELAY_MS = 100

/** Request heads per channel index; cached for small channel sets, built on demand for huge ones. */
class ChannelHeads {
  constructor (prefix) {
    this.prefix = prefix
    this.cache = []
  }

  get (index) {
    const cached = this.cache[index]
    if (cached !== undefined) return cached
    const name = `${this.prefix}${index}`
    const heads = { get: getHead(name), post: postMessageHead(name) }
    if (index < HEAD_CACHE_LIMIT) this.cache[index] = heads
    return heads
  }
}

class PairLoop {
  constructor (run, index) {
    this.run = run
    this.index = index
    this.consumer = null
    this.producer = null
    this.id = -1
    this.pending = 0
    this.failure = null
    this.startedAt = 0
    this.consumerHandler = { collect: true, onDone: (err, response) => this.onConsumerDone(err, response) }
    this.producerHandler = { onDone: (err, response) => this.onProducerDone(err, response) }
    this.finished = null
    this.resolveFinished = null
  }

  /** Starts pairing until the run stops; `finished` resolves once the pair in flight has ended. */
  start () {
    this.finished = new Promise((resolve) => { this.resolveFinished = resolve })
    this.startPair()
  }

  async open () {
    const port = this.run.port
    const opened = await Promise.allSettled([new HttpConnection(port).connect(), new HttpConnection(port).connect()])
    const failed = opened.find((result) => result.status === 'rejected')
    if (failed !== undefined) {
      for (const result of opened) if (result.status === 'fulfilled') result.value.close()
      throw failed.reason
    }
    this.consumer = opened[0].value
    this.producer = opened[1].value
  }

  startPair () {
    const run = this.run
    if (run.stopping) {
      this.resolveFinished()
      return
    }
    const id = run.nextId++
    const heads = run.heads.get(run.pickChannel(this.index))
    this.id = id
    this.pending = 2
    this.failure = null
    this.startedAt = performance.now()
    run.outstanding.add(id)
    this.consumer.send(heads.get, this.consumerHandler)
    this.producer.send(postMessageRequest(heads.post, id), this.producerHandler)
  }

  onConsumerDone (err, response) {
    if (err) {
      this.fail(`GET failed: ${err.message}`)
    } else if (response.status !== 200) {
      this.fail(`GET answered ${response.status}`)
    } else {
      const received = readMessageId(response.body)
      if (received === -1) {
        this.fail(`GET body is not a message (${response.bodyBytes} bytes)`)
      } else if (this.run.exclusiveChannels && received !== this.id) {
        this.fail('GET on a channel of its own received another loop\'s message')
      } else if (!this.run.outstanding.delete(received)) {
        this.fail('GET received a message that was already delivered')
      }
    }
    this.partDone()
  }

  onProducerDone (err, response) {
    if (err) this.fail(`POST failed: ${err.message}`)
    else if (response.status !== 200) this.fail(`POST answered ${response.status}`)
    this.partDone()
  }

  fail (reason) {
    if (this.failure === null) this.failure = reason
  }

  partDone () {
    if (--this.pending !== 0) return
    const run = this.run
    if (this.failure !== null) {
      run.errors.add(this.failure)
      this.reconnectThenContinue()
      return
    }
    const now = performance.now()
    if (now >= run.windowStart && now <= run.windowEnd) {
      run.completed++
      run.latencies.record(now - this.startedAt)
    }
    this.startPair()
  }

  /** After an error the connections' state is unknown, so both are replaced. */
  async reconnectThenContinue () {
    this.consumer.close()
    this.producer.close()
    for (let attempt = 1; attempt <= RECONNECT_ATTEMPTS && !this.run.stopping; attempt++) {
      try {
        await this.open()
        break
      } catch (err) {
        this.run.errors.add(`reconnect failed: ${err.message}`)
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS))
      }
    }
    if (this.consumer.closed || this.producer.closed) this.resolveFinished()
    else this.startPair()
  }

  close () {
    if (this.consumer !== null) this.consumer.close()
    if (this.producer !== null) this.producer.close()
  }
}

/**
 * Pair loops on connections that stay open between slices, so that several servers can be
 * measured in alternating short slices (drift on this kind of machine changes speed within seconds).
 * Throughput and latency count pairs completing inside measured windows; errors count always.
 *   pickChannel(loopIndex) -> channel index; exclusiveChannels: each loop owns its channel.
 */
class PairSession {
  constructor ({ port, concurrency, stallTimeoutMs, channelPrefix, pickChannel, exclusiveChannels }) {
    this.run = {
      port,
      pickChannel,
      exclusiveChannels,
      heads: new ChannelHeads(channelPrefix),
      nextId: 0,
      outstanding: new Set(),
      completed: 0,
      latencies: new LatencyRecorder(),
      errors: new ErrorLog(),
      stopping: false,
      windowStart: Infinity,
      windowEnd: Infinity
    }
    this.stallTimeoutMs = stallTimeoutMs
    this.measuredMs = 0
    this.loops = Array.from({ length: concurrency }, (_, index) => new PairLoop(this.run, index))
  }

  async open () {
    try {
      await Promise.all(this.loops.map((loop) => loop.open()))
    } catch (err) {
      this.close()
      throw new Error(`could not open ${2 * this.loops.length} connections: ${err.message}`)
    }
  }

  /**
   * Runs every loop for warmupMs + durationMs, counting the last durationMs (nothing when it is 0),
   * then lets the pairs in flight end.
   */
  async slice (warmupMs, durationMs) {
    const run = this.run
    const loops = this.loops
    // A server closes connections idle past its keep-alive timeout (5 s in Node) while others run.
    await Promise.all(loops.filter((loop) => loop.consumer.closed || loop.producer.closed).map((loop) => {
      loop.close()
      return loop.open()
    }))
    run.stopping = false
    const stopWatchdog = startStallWatchdog(function * () {
      for (const loop of loops) { yield loop.consumer; yield loop.producer }
    }, this.stallTimeoutMs)
    const startedAt = performance.now()
    run.windowStart = durationMs > 0 ? startedAt + warmupMs : Infinity
    run.windowEnd = run.windowStart + durationMs
    for (const loop of loops) loop.start()

    await new Promise((resolve) => setTimeout(resolve, warmupMs + durationMs))
    run.stopping = true
    // Pairs in flight finish, or the watchdog fails them; this bound only guards against bench bugs.
    const drained = await Promise.race([
      Promise.all(loops.map((loop) => loop.finished)).then(() => true),
      new Promise((resolve) => setTimeout(resolve, this.stallTimeoutMs + 5000, false))
    ])
    stopWatchdog()
    this.measuredMs += durationMs
    // The caller marks the measurement failed: its numbers would be meaningless.
    if (!drained) throw new Error('pair loops did not finish after the run ended')
  }

  close () {
    for (const loop of this.loops) loop.close()
  }

  /** What the measured slices add up to. */
  outcome () {
    const run = this.run
    const [p50, p99] = run.latencies.percentiles([0.5, 0.99])
    return {
      metrics: {
        pairsPerSec: run.completed / (this.measuredMs / 1000),
        p50Ms: p50,
        p99Ms: p99,
        errors: run.errors.count
      },
      details: { pairs: run.completed, startedPairs: run.nextId },
      errorSamples: run.errors.samples()
    }
  }
}

module.exports = { PairSession }
