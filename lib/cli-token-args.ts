import { parseArgs } from 'node:util'
import { oneOf } from './cli-values'
import { PERMISSIONS, type Permission } from './token-names'

// The command line of `httpipe token create`.

export interface TokenRequest {
  readonly namespace: string
  readonly channel?: string
  readonly allow: readonly Permission[]
  readonly name?: string
}

const VALUE = { type: 'string' } as const
const TOKEN_FLAGS = { namespace: VALUE, channel: VALUE, allow: VALUE, name: VALUE } as const

/** `httpipe token create --namespace N [--channel C] --allow read,write [--name NAME]`. */
export function parseTokenCommand (argv: readonly string[]): TokenRequest {
  if (argv[0] !== 'create') throw new Error(`the token command takes "create", got ${JSON.stringify(argv[0] ?? '')}`)
  const { values } = parseArgs({ args: [...argv.slice(1)], options: TOKEN_FLAGS, strict: true, allowPositionals: false })
  const { namespace, channel, allow, name } = values
  if (namespace === undefined || namespace === '') throw new Error('token create needs --namespace (a name or a glob pattern such as "builds-*")')
  if (channel === '') throw new Error('--channel needs a name or a glob pattern (leave it out for every channel)')
  if (allow === undefined || allow.trim() === '') throw new Error(`token create needs --allow, a comma-separated list of ${PERMISSIONS.join(', ')}`)
  const permissions = [...new Set(allow.split(',').map(permission => oneOf('--allow', permission.trim(), PERMISSIONS)))]
  return { namespace, allow: permissions, ...(channel === undefined ? {} : { channel }), ...(name === undefined ? {} : { name }) }
}
