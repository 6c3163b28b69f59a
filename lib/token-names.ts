// The names of the --auth file's permissions and of the --anonymous levels: what the CLI's argument
// parsing and usage need, apart from token-file.ts, so that a server started without --auth never
// loads the token code (and node:crypto with it) to check its arguments.

/**
 * What a grant may allow: `read` (consume, subscribe; request, in the request/response mode),
 * `write` (produce, publish), `delete`, `list`, `metrics` (`GET /metrics`).
 */
export type Permission = 'read' | 'write' | 'delete' | 'list' | 'metrics'
export const PERMISSIONS: readonly Permission[] = ['read', 'write', 'delete', 'list', 'metrics']

/** `--anonymous`: what a request without a token may do. Each level includes the ones before it. */
export type AnonymousLevel = 'none' | 'read' | 'write' | 'all'
export const ANONYMOUS_LEVELS: readonly AnonymousLevel[] = ['none', 'read', 'write', 'all']
