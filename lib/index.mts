// The ESM entry point: a thin wrapper over the CommonJS build rather than a second build, so an
// app that loads httpipe both ways gets one copy (one set of routers, one instanceof identity).
// Node hands a CommonJS module's whole `exports` to a default import; this file is what makes
// `import httpipe from 'httpipe'` the function. Named re-exports (found in the CommonJS build by
// Node's cjs-module-lexer) keep the declarations the same under nodenext and bundler resolution.
export { httpipe, httpipe as default, createHandler, serve, consumeQueryParameter } from './index.js'
export type * from './index.js'
