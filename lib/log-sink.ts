import { fstatSync, write as writeAsync, writeSync } from 'node:fs'
import { isatty } from 'node:tty'

/** Bytes gathered before a write, unless the timer comes first. */
const MIN_WRITE = 4096
/** One buffer's size; a line longer than a third of it gets a buffer of its own. */
const BUFFER_SIZE = 64 * 1024
/** The longest a line waits for others to share its write. */
const FLUSH_INTERVAL_MS = 100
/** Buffers kept for reuse once written: the one being filled, the one being written, one more. */
const SPARES_KEPT = 2

/**
 * Log lines for a file descriptor, copied into Buffers outside the JavaScript heap as they are
 * written and written out asynchronously, 4 KiB or more at a time, at most 100 ms late.
 *
 * Why not pino's sonic-boom: it joins lines into one string until it writes them, and under load
 * those strings (ropes of every piece of every line) outlived young-generation collections, so V8
 * copied them, promoted them and grew its young generation: in a fan-out of 1 KiB messages the
 * standalone server's request lines were most of what it kept beyond a minimal server.
 *
 * To a pipe, a socket or a terminal, writes are asynchronous, so a reader that stops reading (a full
 * pipe) never stalls the server: lines then wait here, in memory, as they did in sonic-boom. To a
 * regular file or `/dev/null` they are made in place, as pino's own default destination makes
 * them: nothing there waits on a reader, and an asynchronous write cost about 23 us of CPU (a
 * thread pool hop) where a synchronous one cost 2-5. A descriptor that fails otherwise (closed,
 * `EPIPE`) drops what is left and every later line: a server does not stop for its log.
 */
export class LogSink {
  private readonly fd: number
  private current: Buffer = Buffer.allocUnsafeSlow(BUFFER_SIZE)
  private used = 0
  /** Filled before the previous write ended, oldest first. */
  private readonly queued: Buffer[] = []
  /** What the write in flight has left to write (a partial write continues from here). */
  private writing: Buffer | undefined = undefined
  private writingBuffer: Buffer | undefined = undefined
  private readonly spares: Buffer[] = []
  private broken = false
  private retry: NodeJS.Timeout | undefined = undefined
  private drained: Array<() => void> = []
  private readonly timer: NodeJS.Timeout
  private readonly inPlace: boolean

  constructor (fd: number) {
    this.fd = fd
    this.inPlace = neverWaitsOnAReader(fd)
    this.timer = setInterval(() => { this.flush() }, FLUSH_INTERVAL_MS).unref()
  }

  write (line: string): void {
    if (this.broken) return
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: the check never lets a line be cut.
    const room = this.current.length - this.used
    if (line.length * 3 > room) {
      this.seal()
      if (line.length * 3 > this.current.length) {
        this.queued.push(Buffer.from(line))
        this.next()
        return
      }
    }
    this.used += this.current.write(line, this.used)
    if (this.used >= MIN_WRITE && this.writing === undefined) this.next()
  }

  /** Starts writing whatever waits, however little. */
  flush (): void {
    if (this.writing === undefined && this.retry === undefined) this.next(true)
  }

  /** Resolves once every line written so far has reached the descriptor (or it broke). */
  drain (): Promise<void> {
    this.flush()
    if (this.idle()) return Promise.resolve()
    return new Promise(resolve => { this.drained.push(resolve) })
  }

  /**
   * For the process's 'exit': writes what waits synchronously. A write in flight is left to finish
   * on its own (writing it again could double its lines); the CLI drains before it exits.
   */
  flushSync (): void {
    clearInterval(this.timer)
    if (this.retry !== undefined) clearTimeout(this.retry)
    this.seal()
    for (const buffer of this.queued.splice(0)) {
      let rest = buffer
      // Bounded: a descriptor that takes nothing for this many tries gets no more.
      for (let tries = 0; rest.length > 0 && !this.broken && tries < 1000; tries++) {
        try {
          rest = rest.subarray(writeSync(this.fd, rest))
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.broken = true
          else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
        }
      }
    }
  }

  private idle (): boolean {
    return this.broken || (this.writing === undefined && this.queued.length === 0 && this.used === 0)
  }

  /** Moves what the current buffer holds to the queue and starts a fresh one. */
  private seal (): void {
    if (this.used === 0) return
    this.queued.push(this.current.subarray(0, this.used))
    this.current = this.spares.pop() ?? Buffer.allocUnsafeSlow(BUFFER_SIZE)
    this.used = 0
  }

  private next (any = false): void {
    if (this.broken || this.writing !== undefined) return
    if (this.queued.length === 0 && (this.used >= MIN_WRITE || (any && this.used > 0))) this.seal()
    const buffer = this.queued.shift()
    if (buffer === undefined) {
      this.settle()
      return
    }
    this.writingBuffer = buffer
    this.send(buffer)
  }

  private send (rest: Buffer): void {
    if (this.inPlace) {
      this.sendInPlace(rest)
      return
    }
    this.writing = rest
    writeAsync(this.fd, rest, 0, rest.length, null, (err, written) => {
      this.writing = undefined
      if (err !== null) {
        if (err.code === 'EAGAIN') {
          // A non-blocking descriptor that is full: the same bytes again, a little later.
          this.queued.unshift(rest)
          this.retry = setTimeout(() => { this.retry = undefined; this.next(true) }, 10)
          return
        }
        this.fail()
        return
      }
      if (written < rest.length) {
        this.send(rest.subarray(written))
        return
      }
      this.recycle()
      this.next(this.drained.length > 0)
    })
  }

  private sendInPlace (buffer: Buffer): void {
    let rest = buffer
    this.writing = rest
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(this.fd, rest))
    } catch {
      this.writing = undefined
      this.fail()
      return
    }
    this.writing = undefined
    this.recycle()
    this.next(this.drained.length > 0)
  }

  private recycle (): void {
    const buffer = this.writingBuffer
    this.writingBuffer = undefined
    // A whole buffer of ours (not a long line's own) is kept for the next lines.
    if (buffer !== undefined && buffer.buffer.byteLength === BUFFER_SIZE && this.spares.length < SPARES_KEPT) {
      this.spares.push(Buffer.from(buffer.buffer, 0, BUFFER_SIZE))
    }
  }

  private fail (): void {
    this.broken = true
    this.queued.length = 0
    this.used = 0
    this.settle()
  }

  private settle (): void {
    if (!this.idle()) return
    for (const resolve of this.drained.splice(0)) resolve()
  }
}

/** A regular file or a device that is not a terminal (`/dev/null`): a write there never waits. */
function neverWaitsOnAReader (fd: number): boolean {
  try {
    const stats = fstatSync(fd)
    return stats.isFile() || (stats.isCharacterDevice() && !isatty(fd))
  } catch {
    // Not open: the first write fails and the log is dropped.
    return false
  }
}
