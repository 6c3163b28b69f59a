'use strict'
// Live (text/event-stream) subscribers for the fanout scenario, as light as the bench can make
// them: one raw node:net socket each, no HTTP parser. Events are counted by their terminating
// blank line ("\n\n"); chunked framing never contains one and a response head ends in "\r\n\r\n",
// so every "\n\n" on the wire ends an event (the first one ends the server's opening comment).

const net = require('node:net')
const { performance } = require('node:perf_hooks')

const LF = 10
const BLANK_LINE = Buffer.from('\n\n')

class SseSubscriber {
  constructor (port, path, onEvent) {
    this.port = port
    this.path = path
    this.onEvent = onEvent
    this.events = 0
    this.lastByte = 0
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
    let count = 0
    if (this.lastByte === LF && chunk[0] === LF) count++
    for (let at = chunk.indexOf(BLANK_LINE); at !== -1; at = chunk.indexOf(BLANK_LINE, at + 1)) count++
    this.lastByte = chunk[chunk.length - 1]
    for (let i = 0; i < count; i++) {
      this.events++
      if (this.events === 1) this.confirmed()
      else this.onEvent(this, performance.now())
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
