import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { consumerContentType } from './consumer-headers'
import { SAFETY_HEADERS } from './response-headers'
import { statusInvalid } from './errors'

// Pure: how a request is shown to a responder, and how a responder's reply is shown to the
// requester. Everything a requester receives was chosen by whoever runs the responder, on the
// origin of whoever mounted httpipe: the rules below keep that origin safe.

/** What the requester's `Cookie` and `Authorization` become: never relayed unless asked for. */
export interface ForwardPolicy {
  readonly cookie: boolean
  readonly authorization: boolean
}

/** The sandbox every requester response runs in: scripts, forms, popups and downloads, never same-origin. */
export const SANDBOX_ALLOWANCES: readonly string[] = ['allow-scripts', 'allow-forms', 'allow-popups', 'allow-downloads']
export const REQUESTER_CSP = `sandbox ${SANDBOX_ALLOWANCES.join(' ')}`

/** Sent on every requester response, whatever the responder said. */
export const REQUESTER_SAFETY_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  'Content-Security-Policy': REQUESTER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer'
})

// Hop-by-hop headers (RFC 9110 §7.6.1) and those that describe one connection or one message's
// framing: each side has its own. `host` and HTTP/2's `:authority` name the relay, not the responder.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'expect', 'host', 'http2-settings'
])

// Reply headers that would act on the host's origin rather than on the relayed page: cookies
// for the host, CORS grants to the host's other resources, a service worker scope, wiping the
// host's storage, pinning HSTS or alternative services for the whole host. And ours, which win.
const NEVER_FROM_RESPONDER = new Set([
  'set-cookie', 'set-cookie2', 'service-worker-allowed', 'clear-site-data', 'strict-transport-security', 'alt-svc',
  'x-content-type-options', 'referrer-policy', 'content-length'
])

const PREFIX = 'pb-h-'

/** The head of the responder's response: the request, as patchbay shows it. */
export function requestHead (req: IncomingMessage, uri: string, forward: ForwardPolicy): OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {
    'Pb-Method': req.method ?? 'GET',
    'Pb-Uri': uri
  }
  const dropped = connectionListed(req.headers.connection)
  const spellings = new Spellings()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    // HTTP/2 pseudo-headers (`:method`, `:path`, `:authority`) are already Pb-Method and Pb-Uri.
    if (lower[0] === ':' || HOP_BY_HOP.has(lower) || dropped.has(lower)) continue
    if (lower === 'cookie' && !forward.cookie) continue
    if (lower === 'authorization' && !forward.authorization) continue
    spellings.append(headers, `Pb-H-${name}`, lower, raw[i + 1] as string)
  }
  // Shown to whoever reads the responder's response, maybe a browser on the host's origin.
  headers['Content-Type'] = consumerContentType(req.headers['content-type'])
  // Assigned, not spread into a copy: no Pb-H- name is one of them.
  return Object.assign(headers, SAFETY_HEADERS)
}

/** A responder's answer, as it sent it: validated when it arrives, written when its body starts. */
export interface Reply {
  readonly status: number
  /** The `Pb-H-*` headers that may be relayed, prefix stripped, duplicates as arrays. */
  readonly headers: Readonly<Record<string, string | string[]>>
  /** `Pb-H-Content-Length`: relayed only where no body is sent (`HEAD`, `204`, `304`). */
  readonly declaredLength: string | undefined
  /** The `Content-Length` of the reply body itself. */
  readonly bodyLength: string | undefined
  /** How the responder spelled `Content-Security-Policy` in {@link headers}, if it sent one that passed. */
  readonly policyName?: string | undefined
}

/**
 * Reads `Pb-Status` and the `Pb-H-*` headers of a responder's request. Throws `status.invalid`
 * (400) for a status that is not an integer from 200 to 599. Headers that must not reach the
 * requester are dropped, not refused: a reply passed on from a real server often carries some.
 */
export function parseReply (req: IncomingMessage, forward: ForwardPolicy): Reply {
  const status = parseStatus(req.headers['pb-status'])
  const headers: Record<string, string | string[]> = {}
  let declaredLength: string | undefined
  let policyName: string | undefined
  const spellings = new Spellings()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length <= PREFIX.length || !hasPrefix(name)) continue
    const relayed = name.slice(PREFIX.length)
    const lower = relayed.toLowerCase()
    const value = raw[i + 1] as string
    if (lower === 'content-length') declaredLength = /^\d+$/.test(value) ? value : undefined
    if (!mayRelay(lower, value, forward)) continue
    const key = spellings.append(headers, relayed, lower, value)
    if (lower === 'content-security-policy') policyName = key
  }
  return { status, headers, declaredLength, bodyLength: req.headers['content-length'], policyName }
}

/** The requester's response head for a reply. */
export function replyHead (reply: Reply, requestMethod: string | undefined): OutgoingHttpHeaders {
  // Copied key by key: a spread of the reply's headers and of the frozen safety headers cost
  // more than the rest of the function (V8 clones neither shape fast).
  const headers: OutgoingHttpHeaders = {}
  const relayed = reply.headers
  for (const name in relayed) headers[name] = relayed[name]
  for (const name in REQUESTER_SAFETY_HEADERS) headers[name] = REQUESTER_SAFETY_HEADERS[name]
  const { status } = reply
  // Responder CSPs are relayed as policies of their own next to ours, all enforced together.
  const theirs = reply.policyName === undefined ? undefined : reply.headers[reply.policyName]
  if (theirs !== undefined) {
    delete headers[reply.policyName as string]
    headers['Content-Security-Policy'] = [REQUESTER_CSP, ...(Array.isArray(theirs) ? theirs : [theirs])]
  }
  // A body-less answer may say how long the full one is; otherwise the length is the body's own,
  // so that a cut reply is seen as one.
  const bodiless = requestMethod === 'HEAD' || status === 204 || status === 304 || status < 200
  const length = bodiless ? reply.declaredLength : reply.bodyLength
  if (length !== undefined && status !== 204) headers['Content-Length'] = length
  return headers
}

function parseStatus (value: string | string[] | undefined): number {
  if (value === undefined) return 200
  const text = Array.isArray(value) ? value.join(', ') : value
  if (!/^\d{3}$/.test(text.trim())) throw statusInvalid(text)
  const status = Number(text.trim())
  if (status < 200 || status > 599) throw statusInvalid(text)
  return status
}

function mayRelay (lower: string, value: string, forward: ForwardPolicy): boolean {
  if (HOP_BY_HOP.has(lower) || NEVER_FROM_RESPONDER.has(lower) || lower.startsWith('access-control-')) return false
  // A login prompt for the host's origin: its answer (Authorization) is not relayed either.
  if (lower === 'www-authenticate') return forward.authorization
  if (lower === 'content-security-policy') return isAtLeastAsStrict(value)
  return true
}

/**
 * Whether every policy in a `Content-Security-Policy` value sandboxes at least as much as ours:
 * a `sandbox` directive allowing nothing ours does not. Any other is weaker and is dropped.
 */
export function isAtLeastAsStrict (value: string): boolean {
  const policies = value.split(',')
  return policies.every(policy => {
    const sandbox = policy.split(';').map(directive => directive.trim().split(/\s+/)).find(tokens => tokens[0]?.toLowerCase() === 'sandbox')
    return sandbox !== undefined && sandbox.slice(1).every(token => SANDBOX_ALLOWANCES.includes(token.toLowerCase()))
  })
}

/** Header names a `Connection` header lists: hop-by-hop for this message only. */
function connectionListed (value: string | undefined): Set<string> {
  if (value === undefined) return EMPTY
  return new Set(value.split(',').map(name => name.trim().toLowerCase()))
}
const EMPTY = new Set<string>()

/** Whether a header name starts with `Pb-H-`, in any letter case, without lower-casing all of it. */
function hasPrefix (name: string): boolean {
  return (name.charCodeAt(0) | 0x20) === 0x70 && (name.charCodeAt(1) | 0x20) === 0x62 && name.charCodeAt(2) === 0x2d &&
    (name.charCodeAt(3) | 0x20) === 0x68 && name.charCodeAt(4) === 0x2d
}

/**
 * The first spelling of each header name added to one head, by its lower case: duplicates are
 * kept under it (as arrays), without comparing each new name with every name before it.
 */
class Spellings {
  readonly #first = new Map<string, string>()

  /** Adds a header value under its name's first spelling (`lower`: the name in lower case); returns that spelling. */
  append (headers: Record<string, string | string[]>, name: string, lower: string, value: string): string {
    const key = this.#first.get(lower)
    if (key === undefined) {
      this.#first.set(lower, name)
      headers[name] = value
      return name
    }
    const existing = headers[key] as string | string[]
    if (Array.isArray(existing)) existing.push(value)
    else headers[key] = [existing, value]
    return key
  }
}
