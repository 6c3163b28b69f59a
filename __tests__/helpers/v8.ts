import { setFlagsFromString } from 'node:v8'

// The only way to see an object's storage mode is V8's own intrinsic, compiled after enabling it.
// Enabled at run time, for the whole jest worker, so the tests also run under a bare `npx jest`.
// Node calls changing flags after startup unsupported; this one only lets code compiled later use
// `%` intrinsics, which nothing else in the suite does. Observed on Node 20's V8 (engines: >=18).
setFlagsFromString('--allow-natives-syntax')

/** False once an object is in dictionary mode. */
// eslint-disable-next-line no-new-func
export const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean
