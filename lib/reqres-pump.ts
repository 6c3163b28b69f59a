import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'

/** Which end of a {@link pump} failed: the body's sender, its receiver, the byte limit, or a stop(). */
export type PumpFailure = 'source' | 'sink' | 'limit' | 'stopped'

export type PumpResult = { readonly ok: true } | { readonly ok: false, readonly failed: PumpFailure }

export interface PumpOptions {
  readonly limit: number
  /** Counts the bytes read, against `limit`. */
  readonly progress: { bytes: number }
  /** Counts them too, for the router's stats() (its transfer tracker). */
  readonly shared?: { bytes: number } | undefined
  /** Writes the sink's head, just before the first byte (or the end): an error can still be answered until then. */
  readonly head?: (() => void) | undefined
  /** End the sink when the source ends (default); `false` leaves it open for the caller to end. */
  readonly end?: boolean | undefined
}

export interface Pump {
  readonly result: Promise<PumpResult>
  /** Stops moving bytes and resolves `result` with `stopped`, unless it has settled already. */
  readonly stop: () => void
}

/**
 * Streams a request body into a response with backpressure (the source is paused whenever the
 * sink's socket is full), as relay.ts does for channels. It only reports: cutting either side
 * on failure is the caller's choice, since which one to cut depends on which leg failed.
 * Resolves `ok` once the sink has finished (or, with `end: false`, once the source has ended and
 * every byte was handed to the sink).
 */
export function pump (source: Readable, sink: ServerResponse, options: PumpOptions): Pump {
  const { limit, progress, end = true } = options
  let head = options.head
  let settled = false
  let ended = false
  let drainArmed = false
  let report: (result: PumpResult) => void = () => {}
  const result = new Promise<PumpResult>(resolve => { report = resolve })

  function settle (outcome: PumpResult): void {
    if (settled) return
    settled = true
    source.off('data', onData).off('end', onEnd).off('close', onSourceClose).off('error', onSourceClose)
    sink.off('finish', onFinish).off('close', onSinkClose).off('error', onSinkClose)
    if (drainArmed) sink.off('drain', onDrain)
    if (!outcome.ok && !ended) source.pause()
    report(outcome)
  }
  function writeHead (): boolean {
    if (head === undefined) return true
    const write = head
    head = undefined
    try {
      write()
      return true
    } catch {
      // Headers already sent (an error answer won the race) or refused by Node: the sink is lost.
      settle({ ok: false, failed: 'sink' })
      return false
    }
  }
  function onData (chunk: Buffer): void {
    progress.bytes += chunk.length
    if (options.shared !== undefined) options.shared.bytes += chunk.length
    if (progress.bytes > limit) return settle({ ok: false, failed: 'limit' })
    if (!writeHead()) return
    if (sink.write(chunk)) return
    source.pause()
    if (!drainArmed) {
      drainArmed = true
      sink.on('drain', onDrain)
    }
  }
  function onDrain (): void { source.resume() }
  function onEnd (): void {
    ended = true
    if (!writeHead()) return
    if (end) sink.end()
    else settle({ ok: true })
  }
  function onFinish (): void { settle({ ok: true }) }
  function onSourceClose (): void {
    // 'close' after 'end' is how every request ends; before it, its client went away.
    if (!ended) settle({ ok: false, failed: 'source' })
  }
  function onSinkClose (): void {
    if (!sink.writableFinished) settle({ ok: false, failed: 'sink' })
  }

  if (sink.destroyed || sink.writableEnded) settle({ ok: false, failed: 'sink' })
  else if (source.readableEnded) onEnd()
  else if (source.destroyed) settle({ ok: false, failed: 'source' })
  if (!settled) {
    source.on('data', onData).on('end', onEnd).on('close', onSourceClose).on('error', onSourceClose)
    sink.on('finish', onFinish).on('close', onSinkClose).on('error', onSinkClose)
    source.resume()
  }
  return { result, stop: () => { settle({ ok: false, failed: 'stopped' }) } }
}
