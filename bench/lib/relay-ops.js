'use strict'
// Building blocks shared by scenarios: channel paths, request heads, bulk connection setup, warm-up.

const { HttpConnection, requestHead, request } = require('./http-client.js')
const { MESSAGE_BYTES, writeMessage, readMessageId } = require('./messages.js')

const CONTENT_TYPE = 'application/octet-stream'

function channelPath (name) {
  return `/channels/bench/${name}`
}

function getHead (name) {
  return requestHead('GET', channelPath(name))
}

function postMessageHead (name) {
  return requestHead('POST', channelPath(name), { contentLength: MESSAGE_BYTES, contentType: CONTENT_TYPE })
}

/** Head and message in one buffer, so the POST goes out in a single write. */
function postMessageRequest (head, id) {
  const buffer = Buffer.allocUnsafe(head.length + MESSAGE_BYTES)
  head.copy(buffer, 0)
  writeMessage(buffer, head.length, id)
  return buffer
}

/**
 * Opens `count` connections with at most `parallel` connects in flight (a burst of thousands would
 * overflow the listen backlog and turn into 1 s SYN retries). `onConnected(connection, index)` runs as
 * each one opens; failures are returned, not thrown, so callers count them.
 */
async function connectMany (port, count, parallel, onConnected) {
  const connections = new Array(count).fill(null)
  const failures = []
  let next = 0
  async function worker () {
    while (next < count) {
      const index = next++
      try {
        connections[index] = await new HttpConnection(port).connect()
        if (onConnected !== undefined) onConnected(connections[index], index)
      } catch (err) {
        failures.push({ index, error: err })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker))
  return { connections, failures }
}

/** A few sequential transfers, so that lazy initialisation and JIT warm-up are not measured. */
async function warmUp (port, transfers = 50) {
  const consumer = await new HttpConnection(port).connect()
  const producer = await new HttpConnection(port).connect()
  const get = getHead('warmup')
  const post = postMessageHead('warmup')
  try {
    for (let id = 0; id < transfers; id++) {
      const [received, sent] = await Promise.all([
        request(consumer, get, { collect: true }),
        request(producer, postMessageRequest(post, id))
      ])
      if (received.status !== 200 || sent.status !== 200 || readMessageId(received.body) !== id) {
        throw new Error(`warm-up transfer ${id} failed: GET ${received.status}, POST ${sent.status}`)
      }
    }
  } finally {
    consumer.close()
    producer.close()
  }
}

module.exports = { CONTENT_TYPE, channelPath, getHead, postMessageHead, postMessageRequest, connectMany, warmUp }
