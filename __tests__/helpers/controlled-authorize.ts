import type { IncomingMessage } from 'node:http'
import type { HttpipeAuthorize, HttpipeVerdict } from '../../lib'

export interface ControlledAuthorize {
  readonly authorize: HttpipeAuthorize
  /** How many times the hook has been asked. */
  readonly calls: () => number
  /** The requests it was asked about, in order. */
  readonly requests: IncomingMessage[]
  /** Settles the oldest pending verdict. */
  readonly decide: (verdict: HttpipeVerdict) => void
}

/** An async `authorize` hook whose verdicts the test hands out, one per call, in order. */
export function controlledAuthorize (): ControlledAuthorize {
  const waiting: Array<(verdict: HttpipeVerdict) => void> = []
  const requests: IncomingMessage[] = []
  return {
    authorize: req => { requests.push(req); return new Promise<HttpipeVerdict>(resolve => { waiting.push(resolve) }) },
    calls: () => requests.length,
    requests,
    decide: verdict => { (waiting.shift() as (verdict: HttpipeVerdict) => void)(verdict) }
  }
}
