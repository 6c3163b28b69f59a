'use strict'
// Live (text/event-stream) subscribers for the fanout scenario, as light as the bench can make
// them: one raw node:net socket each, no HTTP parser. The bench's messages are all "x", so an
// event ends in "x\n\n"; comments (the server's opening one, keep-alives) end in another letter,
// chunked framing never holds a blank line and a response head ends in "\r\n\r\n". The first
// blank line on the wire confirms the subscription.

const net = require('node:net')
const { performance } = require('node:perf_hooks')

const LF = 10
const BLANK_LINE = Buffer.from('\n\n')
const X = 0x78

class SseSubscriber {
  constructor (port, path, onEvent) {
    this.port = port
    this.path = path
    this.onEvent = onEvent
    this.events = 0
    this.lastByte = 0
    this.confirmedYet = false
    this.byteBeforeLast = 0
    this.status = 0
    this.socket = null
    this.error = null
  }

  /** Resolves once the server's opening comment has arrived (the subscription is registered). */
  open (timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, '127.0.0.1')
      this.socket = socket
      const timer = setTimeout(() => fail(new Error(`subscription not confirmed within ${timeoutMs} ms`)), timeoutMs)
      const fail = (err) => {
        clearTimeout(timer)
        this.error = err
        socket.destroy()
        reject(err)
      }
      this.confirmed = () => {
        clearTimeout(timer)
        resolve(this)
      }
      socket.once('error', fail)
      socket.on('data', (chunk) => this.onData(chunk))
      socket.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`)
    })
  }

  onData (chunk) {
    if (this.status === 0) this.status = Number(chunk.toString('latin1', 9, 12))
    if (!this.confirmedYet) {
      if (!(this.lastByte === LF && chunk[0] === LF) && chunk.indexOf(BLANK_LINE) === -1) {
        this.lastByte = chunk[chunk.length - 1]
        return
      }
      this.confirmedYet = true
      this.events = 1
      this.confirmed()
    }
    // Search for the blank line, then look at the byte before it: searching for "x\n\n" itself
    // in a run of "x" is a match attempt at every byte.
    let count = 0
    if (this.lastByte === LF && chunk[0] === LF && this.byteBeforeLast === X) count++
    for (let at = chunk.indexOf(BLANK_LINE); at !== -1; at = chunk.indexOf(BLANK_LINE, at + 1)) {
      if ((at > 0 ? chunk[at - 1] : this.lastByte) === X) count++
    }
    this.byteBeforeLast = chunk.length > 1 ? chunk[chunk.length - 2] : this.lastByte
    this.lastByte = chunk[chunk.length - 1]
    const now = performance.now()
    for (let i = 0; i < count; i++) {
      this.events++
      this.onEvent(this, now)
    }
  }

  pause () { this.socket.pause() }

  close () {
    if (this.socket !== null) this.socket.destroy()
  }
}

/** Opens `count` subscribers, at most `parallel` connecting at once (a listen backlog is finite). */
async function openSubscribers (port, path, count, parallel, onEvent) {
  const subscribers = []
  let next = 0
  async function worker () {
    while (next < count) {
      next++
      const subscriber = new SseSubscriber(port, path, onEvent)
      subscribers.push(subscriber)
      await subscriber.open()
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker))
  } catch (err) {
    for (const subscriber of subscribers) subscriber.close()
    throw err
  }
  return subscribers
}

module.exports = { SseSubscriber, openSubscribers }
