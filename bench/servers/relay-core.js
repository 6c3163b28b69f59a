'use strict'
// The relay logic shared by both baselines, so that B differs from A only by Express.
// Contract: producers POST, consumers GET the same path; FIFO per side; one transfer per channel at a time.

const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

function createRelay () {
  const channels = new Map() // path -> { producers: [], consumers: [], busy: boolean }

  function handle (key, side, req, res) {
    let channel = channels.get(key)
    if (channel === undefined) {
      channel = { producers: [], consumers: [], busy: false }
      channels.set(key, channel)
    }
    const waiter = { req, res }
    const queue = side === 'producer' ? channel.producers : channel.consumers
    queue.push(waiter)
    // A waiter that disconnects before it is paired must not be paired later.
    res.on('close', () => {
      const index = queue.indexOf(waiter)
      if (index !== -1) queue.splice(index, 1)
      forgetIfIdle(key, channel)
    })
    pump(key, channel)
  }

  function pump (key, channel) {
    if (channel.busy || channel.producers.length === 0 || channel.consumers.length === 0) return
    const producer = channel.producers.shift()
    const consumer = channel.consumers.shift()
    channel.busy = true
    const headers = { 'content-type': producer.req.headers['content-type'] || DEFAULT_CONTENT_TYPE }
    const length = producer.req.headers['content-length']
    if (length !== undefined) headers['content-length'] = length
    consumer.res.writeHead(200, headers)
    producer.req.pipe(consumer.res)
    // A producer that disconnects mid-body must not leave the consumer waiting for the rest.
    producer.req.on('close', () => { if (!producer.req.complete) consumer.res.destroy() })
    consumer.res.on('close', () => {
      channel.busy = false
      if (consumer.res.writableFinished) {
        producer.res.end()
      } else {
        producer.req.unpipe(consumer.res)
        producer.res.statusCode = 502
        producer.res.end('consumer disconnected')
      }
      pump(key, channel)
      forgetIfIdle(key, channel)
    })
  }

  function forgetIfIdle (key, channel) {
    if (!channel.busy && channel.producers.length === 0 && channel.consumers.length === 0 && channels.get(key) === channel) {
      channels.delete(key)
    }
  }

  return { handle }
}

module.exports = { createRelay }
