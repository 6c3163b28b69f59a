// The denials of an `authorize` hook (lib/authorize.ts).
import { httpipeError, quote, type HttpipeError } from './http-error'

/** What an `authorize` denial was about, for its message: `namespace/channel` or a namespace. */
function accessTarget (namespace: string, channel: string | undefined): string {
  return channel === undefined ? `namespace ${quote(namespace)}` : `channel ${namespace}/${channel}`
}

export function accessDenied (action: string, namespace: string, channel: string | undefined, message?: string, headers?: Record<string, string>): HttpipeError {
  return httpipeError(403, message ?? `not allowed to ${action} on ${accessTarget(namespace, channel)}`, {
    type: 'access.denied',
    action,
    ...(headers === undefined ? {} : { headers })
  })
}

export function accessUnauthenticated (action: string, namespace: string, channel: string | undefined, message?: string, headers?: Record<string, string>): HttpipeError {
  return httpipeError(401, message ?? `authentication required to ${action} on ${accessTarget(namespace, channel)}`, {
    type: 'access.unauthenticated',
    action,
    ...(headers === undefined ? {} : { headers })
  })
}

/** A denial that hides whether the channel exists: channels are created on first use, so nothing else answers 404. */
export function channelNotFound (key: string, message?: string, headers?: Record<string, string>): HttpipeError {
  return httpipeError(404, message ?? `channel ${key} not found`, {
    type: 'channel.not.found',
    channel: key,
    ...(headers === undefined ? {} : { headers })
  })
}
