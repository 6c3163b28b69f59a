import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { headerNotRelayable } from './errors'

/**
 * Headers on every response httpipe writes itself, and on every consumer's message whatever its
 * producer sent (SPEC §3): nothing served from the router's origin is sniffed, run or cached.
 */
export const SAFETY_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': 'sandbox',
  'Cache-Control': 'no-store, no-transform'
})

/**
 * Writes a consumer's `200` head (`headers` from consumer-headers.ts). Node refuses some header
 * values a producer can send; that is returned as the error for the producer, nothing is written.
 */
export function writeConsumerHead (res: ServerResponse, headers: OutgoingHttpHeaders, key: string): Error | undefined {
  try {
    res.writeHead(200, headers)
  } catch (err) {
    return headerNotRelayable(key, (err as Error).message)
  }
  return undefined
}
