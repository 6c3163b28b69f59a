import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * V8's full garbage collection, whatever flags node was started with: the suite runs as `jest`,
 * bare `npx jest` or under an IDE, and a heap check must not depend on `node --expose-gc`.
 * `--expose-gc` set at run time applies to contexts created afterwards, so a fresh vm context has
 * `gc`; it collects the whole isolate (every context), the test's included. Node calls changing
 * flags after startup unsupported; this one only adds that global to new contexts (Node 20's V8).
 */
export function exposeGc (): () => void {
  const existing = (globalThis as { gc?: unknown }).gc
  if (typeof existing === 'function') return existing as () => void
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as unknown
  if (typeof gc !== 'function') throw new Error('exposeGc: V8 did not expose gc() to a new context')
  return gc as () => void
}
