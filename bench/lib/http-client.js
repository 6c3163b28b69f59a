'use strict'
// A lean HTTP/1.1 client over node:net for load generation. node:http's client costs more CPU
// than the servers under test on 2 cores, so this one does only what the bench needs:
// keep-alive, one request in flight per connection, Content-Length and chunked bodies both ways.
// One Response object per connection is reused for every response (read it inside onDone).

const net = require('node:net')
const { performance } = require('node:perf_hooks')

const CR = 13
const LF = 10
const HEAD_END = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')
const LAST_CHUNK = Buffer.from('0\r\n\r\n')
const MAX_HEAD_BYTES = 64 * 1024

const IDLE = 0
const HEAD = 1
const FIXED_BODY = 2
const CHUNK_SIZE = 3
const CHUNK_DATA = 4
const CHUNK_DATA_END = 5
const TRAILERS = 6
const BODY_UNTIL_CLOSE = 7
const DONE = 8

class Response {
  constructor () {
    this.reset()
  }

  reset () {
    this.status = 0
    this.head = ''
    this.contentLength = -1
    this.chunked = false
    this.keepAlive = true
    this.bodyBytes = 0
    this.body = null // only filled when the handler sets collect: true
  }

  /** Value of a response header, parsed on demand (the hot path never needs it). */
  header (name) {
    const lower = this.head.toLowerCase()
    const at = lower.indexOf('\r\n' + name.toLowerCase() + ':')
    if (at === -1) return undefined
    const start = at + name.length + 3
    const end = lower.indexOf('\r\n', start)
    return this.head.slice(start, end === -1 ? undefined : end).trim()
  }
}

/**
 * Handler contract (one object per request kind, reused across requests, so no per-request closures):
 *   onDone(err, response)   required; called exactly once per request
 *   onData(chunk, response) optional; body bytes as they arrive
 *   collect                 optional; true to gather the body into response.body
 */
class HttpConnection {
  constructor (port, host = '127.0.0.1') {
    this.port = port
    this.host = host
    this.socket = null
    this.closed = true
    this.handler = null
    this.response = new Response()
    this.state = IDLE
    this.sentAt = 0
    this.requestSeq = 0
    this.remaining = 0
    this.chunkSize = 0
    this.sawChunkDigit = false
    this.inChunkExtension = false
    this.trailerLineLength = 0
    this.headPending = null
    this.requestIncomplete = false
    this.lastIdleError = null
  }

  connect (timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host)
      const onConnectError = (err) => {
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      const timer = setTimeout(() => onConnectError(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs)
      socket.once('error', onConnectError)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeListener('error', onConnectError)
        this.attach(socket)
        resolve(this)
      })
    })
  }

  attach (socket) {
    socket.setNoDelay(true)
    this.socket = socket
    this.closed = false
    this.state = IDLE
    this.headPending = null
    socket.on('data', (chunk) => { if (socket === this.socket) this.onData(chunk) })
    socket.on('end', () => { if (socket === this.socket) this.onEnd() })
    socket.on('error', (err) => { if (socket === this.socket) this.fail(err) })
    socket.on('close', () => { if (socket === this.socket) this.onClose() })
  }

  /** Sends a fully serialized request (head and body in one buffer: one write, one syscall). */
  send (request, handler) {
    this.begin(handler)
    this.socket.write(request)
  }

  /**
   * Sends `head`, then pulls body chunks from `source.next()` (null = end) honouring backpressure.
   * source.chunked selects chunked framing; otherwise the head must carry Content-Length.
   */
  sendStream (head, source, handler) {
    this.begin(handler)
    this.requestIncomplete = true
    const socket = this.socket
    const seq = this.requestSeq
    socket.write(head)
    const pump = () => {
      // Stop when the response already ended this request (an early error) or the socket died.
      if (seq !== this.requestSeq || this.handler === null || socket.destroyed) return
      for (;;) {
        const chunk = source.next()
        if (chunk === null) {
          if (source.chunked) socket.write(LAST_CHUNK)
          this.requestIncomplete = false
          return
        }
        let writable
        if (source.chunked) {
          socket.cork()
          socket.write(chunk.length.toString(16) + '\r\n')
          socket.write(chunk)
          writable = socket.write(CRLF)
          socket.uncork()
        } else {
          writable = socket.write(chunk)
        }
        if (!writable) {
          socket.once('drain', pump)
          return
        }
      }
    }
    pump()
  }

  begin (handler) {
    if (this.handler !== null) throw new Error('bench bug: a request is already pending on this connection')
    if (this.closed) throw new Error('bench bug: send on a closed connection (reconnect first)')
    this.handler = handler
    this.requestSeq++
    this.response.reset()
    this.state = HEAD
    this.headPending = null
    this.requestIncomplete = false
    this.sentAt = performance.now()
  }

  pause () { if (this.socket !== null) this.socket.pause() }
  resume () { if (this.socket !== null) this.socket.resume() }

  /** Fails the pending request (if any) and closes the connection. */
  abort (err) {
    this.fail(err)
  }

  close () {
    this.fail(new Error('connection closed by the bench'))
  }

  onData (chunk) {
    if (this.handler === null) {
      this.fail(new Error(`server sent ${chunk.length} bytes while no request was pending`))
      return
    }
    const length = chunk.length
    let offset = 0
    try {
      while (offset < length) {
        switch (this.state) {
          case HEAD:
            offset = this.parseHead(chunk, offset)
            break
          case FIXED_BODY:
          case CHUNK_DATA: {
            const end = Math.min(length, offset + this.remaining)
            this.deliver(chunk, offset, end)
            this.remaining -= end - offset
            offset = end
            if (this.remaining === 0) this.state = this.state === FIXED_BODY ? DONE : CHUNK_DATA_END
            break
          }
          case CHUNK_SIZE:
            offset = this.parseChunkSize(chunk, offset)
            break
          case CHUNK_DATA_END: {
            const byte = chunk[offset++]
            if (byte === LF) this.state = CHUNK_SIZE
            else if (byte !== CR) throw new Error('malformed chunked body: missing CRLF after chunk data')
            break
          }
          case TRAILERS:
            offset = this.parseTrailers(chunk, offset)
            break
          case BODY_UNTIL_CLOSE:
            this.deliver(chunk, offset, length)
            offset = length
            break
          default:
            throw new Error(`bench bug: data in parser state ${this.state}`)
        }
        // Checked inside the loop so that a response ending exactly at the chunk end completes too.
        if (this.state === DONE) {
          if (offset < length) throw new Error(`server sent ${length - offset} unexpected bytes after the response`)
          this.complete()
          return
        }
        // The handler may have ended this request from onData (abort, close).
        if (this.handler === null) return
      }
    } catch (err) {
      this.fail(err)
    }
  }

  parseHead (chunk, offset) {
    let buffer = chunk
    let start = offset
    let carried = 0
    if (this.headPending !== null) {
      carried = this.headPending.length
      buffer = Buffer.concat([this.headPending, chunk.subarray(offset)])
      start = 0
      this.headPending = null
    }
    const end = buffer.indexOf(HEAD_END, start)
    if (end === -1) {
      if (buffer.length - start > MAX_HEAD_BYTES) throw new Error('response head larger than 64 KiB')
      this.headPending = buffer.subarray(start)
      return chunk.length
    }
    this.applyHead(buffer.toString('latin1', start, end))
    return carried === 0 ? end + 4 : offset + (end + 4 - carried)
  }

  applyHead (head) {
    if (!head.startsWith('HTTP/1.')) throw new Error(`not an HTTP/1 response: ${JSON.stringify(head.slice(0, 40))}`)
    const status = (head.charCodeAt(9) - 48) * 100 + (head.charCodeAt(10) - 48) * 10 + (head.charCodeAt(11) - 48)
    if (!(status >= 100 && status <= 999)) throw new Error(`malformed status line: ${JSON.stringify(head.slice(0, 40))}`)
    if (status < 200 && status !== 101) return // interim response (100 Continue): the real head follows
    const response = this.response
    response.status = status
    response.head = head
    response.keepAlive = head.charCodeAt(7) === 49 // HTTP/1.1 defaults to keep-alive, 1.0 does not
    let lineStart = head.indexOf('\r\n') + 2
    while (lineStart > 1 && lineStart < head.length) {
      let lineEnd = head.indexOf('\r\n', lineStart)
      if (lineEnd === -1) lineEnd = head.length
      const colon = head.indexOf(':', lineStart)
      if (colon !== -1 && colon < lineEnd) {
        const nameLength = colon - lineStart
        // Compare names in place: no string allocations for the headers the bench ignores.
        if (nameLength === 14 && namesEqual(head, lineStart, 'content-length')) {
          response.contentLength = Number(head.slice(colon + 1, lineEnd).trim())
          if (!Number.isSafeInteger(response.contentLength) || response.contentLength < 0) throw new Error('malformed Content-Length')
        } else if (nameLength === 17 && namesEqual(head, lineStart, 'transfer-encoding')) {
          response.chunked = /chunked/i.test(head.slice(colon + 1, lineEnd))
        } else if (nameLength === 10 && namesEqual(head, lineStart, 'connection')) {
          const value = head.slice(colon + 1, lineEnd)
          if (/close/i.test(value)) response.keepAlive = false
          else if (/keep-alive/i.test(value)) response.keepAlive = true
        }
      }
      lineStart = lineEnd + 2
    }
    if (status === 204 || status === 304) {
      this.state = DONE
    } else if (response.chunked) {
      this.state = CHUNK_SIZE
      this.chunkSize = 0
      this.sawChunkDigit = false
      this.inChunkExtension = false
    } else if (response.contentLength >= 0) {
      this.remaining = response.contentLength
      this.state = this.remaining === 0 ? DONE : FIXED_BODY
    } else {
      response.keepAlive = false
      this.state = BODY_UNTIL_CLOSE
    }
  }

  parseChunkSize (chunk, offset) {
    const length = chunk.length
    while (offset < length) {
      const byte = chunk[offset++]
      if (byte === LF) {
        if (!this.sawChunkDigit) throw new Error('malformed chunked body: empty chunk size')
        if (this.chunkSize === 0) {
          this.state = TRAILERS
          this.trailerLineLength = 0
        } else {
          this.remaining = this.chunkSize
          this.state = CHUNK_DATA
        }
        this.chunkSize = 0
        this.sawChunkDigit = false
        this.inChunkExtension = false
        return offset
      }
      if (this.inChunkExtension || byte === CR) continue
      const digit = hexDigitValue(byte)
      if (digit !== -1) {
        this.chunkSize = this.chunkSize * 16 + digit
        this.sawChunkDigit = true
      } else if (byte === 0x3b || byte === 0x20 || byte === 0x09) { // ';' or whitespace starts an extension
        this.inChunkExtension = true
      } else {
        throw new Error('malformed chunked body: bad chunk size')
      }
    }
    return offset
  }

  parseTrailers (chunk, offset) {
    const length = chunk.length
    while (offset < length) {
      const byte = chunk[offset++]
      if (byte === LF) {
        if (this.trailerLineLength === 0) {
          this.state = DONE
          return offset
        }
        this.trailerLineLength = 0
      } else if (byte !== CR) {
        this.trailerLineLength++
      }
    }
    return offset
  }

  deliver (chunk, start, end) {
    const response = this.response
    response.bodyBytes += end - start
    const handler = this.handler
    if (handler.onData === undefined && handler.collect !== true) return
    const part = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end)
    if (handler.collect === true) response.body = response.body === null ? part : Buffer.concat([response.body, part])
    if (handler.onData !== undefined) handler.onData(part, response)
  }

  complete () {
    const handler = this.handler
    this.handler = null
    this.state = IDLE
    // A request whose body was not fully written leaves the connection unusable.
    if (!this.response.keepAlive || this.requestIncomplete) this.destroySocket()
    handler.onDone(null, this.response)
  }

  fail (err) {
    const handler = this.handler
    this.handler = null
    this.state = IDLE
    this.destroySocket()
    if (handler !== null) handler.onDone(err, this.response)
    else this.lastIdleError = err
  }

  onEnd () {
    if (this.state === BODY_UNTIL_CLOSE) this.complete()
    else if (this.handler !== null) this.fail(new Error('server closed the connection before the response ended'))
    this.destroySocket()
  }

  onClose () {
    this.closed = true
    if (this.handler !== null) this.fail(new Error('connection closed before the response ended'))
  }

  destroySocket () {
    this.closed = true
    if (this.socket !== null && !this.socket.destroyed) this.socket.destroy()
  }
}

function namesEqual (text, start, lowerName) {
  for (let i = 0; i < lowerName.length; i++) {
    if ((text.charCodeAt(start + i) | 0x20) !== lowerName.charCodeAt(i)) return false
  }
  return true
}

function hexDigitValue (byte) {
  if (byte >= 48 && byte <= 57) return byte - 48
  const lower = byte | 0x20
  if (lower >= 97 && lower <= 102) return lower - 87
  return -1
}

/** Serializes a request head. The bench builds these once per channel where it can and reuses the buffers. */
function requestHead (method, path, { contentLength, chunked = false, contentType } = {}) {
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
  if (contentType !== undefined) head += `Content-Type: ${contentType}\r\n`
  if (contentLength !== undefined) head += `Content-Length: ${contentLength}\r\n`
  else if (chunked) head += 'Transfer-Encoding: chunked\r\n'
  return Buffer.from(head + '\r\n', 'latin1')
}

/** Promise wrapper for the paths that are not hot. Copies the reused Response out. */
function request (connection, requestBuffer, { collect = false } = {}) {
  return new Promise((resolve, reject) => {
    connection.send(requestBuffer, {
      collect,
      onDone (err, response) {
        if (err) reject(err)
        else resolve({ status: response.status, head: response.head, bodyBytes: response.bodyBytes, body: response.body })
      }
    })
  })
}

/**
 * Aborts requests that have waited longer than timeoutMs since they were sent.
 * One interval for a whole set of connections instead of one timer per request.
 */
function startStallWatchdog (getConnections, timeoutMs) {
  const timer = setInterval(() => {
    const now = performance.now()
    for (const connection of getConnections()) {
      if (connection.handler !== null && now - connection.sentAt > timeoutMs) {
        connection.abort(new Error(`no response within ${timeoutMs} ms`))
      }
    }
  }, Math.max(50, Math.min(1000, timeoutMs / 4)))
  return () => clearInterval(timer)
}

module.exports = { HttpConnection, Response, requestHead, request, startStallWatchdog }
