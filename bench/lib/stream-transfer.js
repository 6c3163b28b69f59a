'use strict'
// One large producer-to-consumer transfer on one channel, with generated (not on-disk) bodies.

const crypto = require('node:crypto')
const { performance } = require('node:perf_hooks')
const { HttpConnection, requestHead } = require('./http-client.js')
const { CONTENT_TYPE, channelPath, getHead } = require('./relay-ops.js')

const WRITE_BYTES = 1024 * 1024

/** The same random megabyte over and over: costs the driver nothing but the write calls. */
class RepeatingSource {
  constructor (totalBytes) {
    this.chunked = false
    this.remaining = totalBytes
    this.block = crypto.randomBytes(WRITE_BYTES)
  }

  next () {
    if (this.remaining === 0) return null
    const size = Math.min(this.remaining, this.block.length)
    this.remaining -= size
    return size === this.block.length ? this.block : this.block.subarray(0, size)
  }
}

/**
 * Fresh random bytes in chunks of varying size (so chunk boundaries do not line up with anything),
 * sent with chunked encoding, hashed as they go out.
 */
class HashedRandomSource {
  constructor (totalBytes) {
    this.chunked = true
    this.remaining = totalBytes
    this.hash = crypto.createHash('sha256')
  }

  next () {
    if (this.remaining === 0) return null
    const size = Math.min(this.remaining, 1 + crypto.randomInt(256 * 1024))
    this.remaining -= size
    const chunk = crypto.randomFillSync(Buffer.allocUnsafe(size)) // new buffer each time: the socket may still hold the last
    this.hash.update(chunk)
    return chunk
  }
}

/**
 * Starts the consumer's GET and the producer's POST together and resolves when both ended.
 * consumerOnData(chunk, consumerConnection) sees every body chunk (hashing, throttling).
 * Never rejects: failures come back in `errors` so the caller counts them.
 */
async function streamTransfer ({ port, channel, source, totalBytes, consumerOnData, timeoutMs }) {
  const consumer = await new HttpConnection(port).connect()
  const producer = await new HttpConnection(port).connect()
  const errors = []
  const outcome = {
    startedAt: performance.now(),
    consumer: null,
    producer: null,
    errors
  }
  const consumerDone = new Promise((resolve) => {
    consumer.send(getHead(channel), {
      onData: consumerOnData === undefined ? undefined : (chunk) => consumerOnData(chunk, consumer),
      onDone: (err, response) => resolve(describe(err, response))
    })
  })
  const head = requestHead('POST', channelPath(channel), source.chunked
    ? { chunked: true, contentType: CONTENT_TYPE }
    : { contentLength: totalBytes, contentType: CONTENT_TYPE })
  const producerDone = new Promise((resolve) => {
    producer.sendStream(head, source, { onDone: (err, response) => resolve(describe(err, response)) })
  })
  const timer = setTimeout(() => {
    consumer.abort(new Error(`transfer not finished within ${timeoutMs} ms`))
    producer.abort(new Error(`transfer not finished within ${timeoutMs} ms`))
  }, timeoutMs)
  try {
    ;[outcome.consumer, outcome.producer] = await Promise.all([consumerDone, producerDone])
  } finally {
    clearTimeout(timer)
    consumer.close()
    producer.close()
  }

  for (const [side, result] of [['GET', outcome.consumer], ['POST', outcome.producer]]) {
    if (result.error !== null) errors.push(`${side} failed: ${result.error}`)
    else if (result.status !== 200) errors.push(`${side} answered ${result.status}`)
  }
  if (outcome.consumer.error === null && outcome.consumer.status === 200) {
    if (outcome.consumer.bodyBytes !== totalBytes) errors.push(`GET received ${outcome.consumer.bodyBytes} of ${totalBytes} bytes`)
    if (!source.chunked && outcome.consumer.contentLength !== totalBytes) errors.push('GET response lacks the producer\'s Content-Length')
    if (!String(outcome.consumer.contentType).startsWith(CONTENT_TYPE)) errors.push(`GET Content-Type ${outcome.consumer.contentType} is not the producer's`)
  }
  return outcome
}

function describe (err, response) {
  return {
    error: err ? err.message : null,
    status: response.status,
    bodyBytes: response.bodyBytes,
    contentLength: response.contentLength,
    contentType: response.status === 0 ? undefined : response.header('content-type'),
    at: performance.now()
  }
}

module.exports = { RepeatingSource, HashedRandomSource, streamTransfer }
