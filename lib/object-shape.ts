// Two keys, so that one can be deleted while it is not the newest property: V8 undoes the deletion
// of an object's newest property by going back to its previous shape, which would change nothing.
const FIRST = Symbol('httpipe.normalize.first')
const SECOND = Symbol('httpipe.normalize.second')

/**
 * Puts an object that was given a new prototype after construction into dictionary mode, and
 * leaves every other object alone. Semantically a no-op: no property is left behind. Never throws:
 * a frozen object or a Proxy that refuses the scratch properties is left as it is, since a speed-up
 * must not break the caller's bookkeeping.
 *
 * Why: Express re-prototypes every request and response (`Object.setPrototypeOf`). In V8 (measured
 * on Node 20), every property added to such an object afterwards gives it a hidden class of its own,
 * so each request reaches every property access in Node's `http` code and ours with a shape never
 * seen before: a cache miss and a runtime lookup, each time. A `writeHead()` with five headers and
 * one listener added and removed takes 8 µs on a plain response, 23 µs on a re-prototyped one and
 * 10 µs on the same one in dictionary mode, whose shape all such objects share. On small messages
 * through httpipe mounted in Express, that is 10–25 % more pairs/s (bench/, `pairs`). The price is
 * memory (~2 KB per object), which is why core.ts normalizes a waiting response only once it is
 * matched.
 */
export function normalizeIfReprototyped (target: object): void {
  try {
    const constructor = (target as { constructor?: unknown }).constructor
    if (typeof constructor !== 'function' || Object.getPrototypeOf(target) === constructor.prototype) return
    if (!Object.isExtensible(target)) return
    const scratch = target as Record<symbol, unknown>
    scratch[FIRST] = true
    scratch[SECOND] = true
    delete scratch[FIRST]
    delete scratch[SECOND]
  } catch {
    // A Proxy's trap threw; its object is then not one whose speed this can help anyway.
  }
}
