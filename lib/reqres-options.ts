import type { ForwardPolicy } from './reqres-headers'

/** Options of the request/response mode (`router.reqres`): `httpipe({ reqres: { … } })`. */
export interface ReqResOptions {
  /**
   * Two-step mode: longest time from the moment a responder has received a request in full to
   * the start of its reply, in ms. Default: `60000`. Breach: `504` to the requester, and a later
   * reply gets `410` (`job.expired`).
   */
  jobTimeout?: number | undefined
  /** Relay the requester's `Cookie` header to responders. Default: `false`. */
  forwardCookies?: boolean | undefined
  /**
   * Relay the requester's `Authorization` header to responders, and a responder's
   * `WWW-Authenticate` to requesters (a login prompt on the host's origin). Default: `false`.
   */
  forwardAuthorization?: boolean | undefined
}

export interface ResolvedReqResOptions {
  readonly jobTimeout: number
  readonly forward: ForwardPolicy
}

const NAMES = ['jobTimeout', 'forwardCookies', 'forwardAuthorization']
const MAX_TIMER_MS = 2 ** 31 - 1

/** Applies defaults and validates, with the messages of options.ts (`httpipe: option reqres.x …`). */
export function resolveReqResOptions (options: ReqResOptions = {}): ResolvedReqResOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`httpipe: option reqres must be an object, got ${JSON.stringify(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!NAMES.includes(key)) throw new TypeError(`httpipe: unknown option reqres.${key}; known options: ${NAMES.map(name => `reqres.${name}`).join(', ')}`)
  }
  const { jobTimeout = 60_000, forwardCookies = false, forwardAuthorization = false } = options
  if (typeof jobTimeout !== 'number' || !Number.isInteger(jobTimeout) || jobTimeout < 1 || jobTimeout > MAX_TIMER_MS) {
    throw new TypeError(`httpipe: option reqres.jobTimeout must be a positive integer up to ${MAX_TIMER_MS} (ms), got ${JSON.stringify(jobTimeout)}`)
  }
  for (const [name, value] of [['forwardCookies', forwardCookies], ['forwardAuthorization', forwardAuthorization]] as const) {
    if (typeof value !== 'boolean') throw new TypeError(`httpipe: option reqres.${name} must be a boolean, got ${JSON.stringify(value)}`)
  }
  return Object.freeze({ jobTimeout, forward: Object.freeze({ cookie: forwardCookies, authorization: forwardAuthorization }) })
}
