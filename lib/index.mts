// The ESM entry point: a thin wrapper over the CommonJS build rather than a second build, so an
// app that loads httpipe both ways gets one copy (one set of routers, one instanceof identity).
// Node hands a CommonJS module's whole `exports` to a default import; this file is what makes
// `import httpipe from 'httpipe'` the function.
import cjs from './index.js'

export const httpipe = cjs.httpipe
export const createHandler = cjs.createHandler
export default httpipe
export type * from './index.js'
