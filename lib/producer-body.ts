import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { entityTooLarge } from './errors'

export interface RelayProgress {
  bytes: number
}

/**
 * The producer's body as a stream of its own, counting bytes into `progress` and failing past
 * `bodySize`.
 *
 * Destroying it, as `pipeline()` does when the consumer leaves or the limit is crossed, only
 * detaches it: the request and its socket stay open, so the producer can still be answered with
 * the reason. Piping the request itself would destroy its socket, and an async iterator over it
 * would stay parked on a read until the producer sent more, holding the transfer open.
 */
export function meteredBody (req: IncomingMessage, bodySize: number, progress: RelayProgress): Readable {
  const onData = (chunk: Buffer): void => {
    progress.bytes += chunk.length
    if (progress.bytes > bodySize) body.destroy(entityTooLarge(bodySize, progress.bytes))
    else if (!body.push(chunk)) req.pause()
  }
  const onEnd = (): void => {
    detach()
    body.push(null)
  }
  const onClose = (): void => {
    // 'close' without 'end' is a producer that went away mid-body.
    body.destroy(Object.assign(new Error('the producer disconnected before sending its whole body'), { code: 'ECONNRESET' }))
  }
  const onError = (err: Error): void => { body.destroy(err) }

  function detach (): void {
    req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onError)
    req.pause()
  }

  const body = new Readable({
    read () { req.resume() },
    destroy (err, callback) {
      detach()
      callback(err)
    }
  })
  req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onError)
  return body
}
