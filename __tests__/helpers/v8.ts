import { setFlagsFromString } from 'node:v8'

// The only way to see an object's storage mode is V8's own intrinsic, compiled after enabling it.
setFlagsFromString('--allow-natives-syntax')

/** False once an object is in dictionary mode. */
// eslint-disable-next-line no-new-func
export const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean
