import { describe, expect, it } from '@jest/globals'
import { CLI, run } from './helpers/standalone'

interface Loaded {
  /** Files loaded with require(), as paths. */
  readonly files: readonly string[]
  /** Node's own modules loaded (process.moduleLoadList, `NativeModule x` entries). */
  readonly builtins: readonly string[]
}

/**
 * What the standalone server has loaded once it listens (requests load the rest), in a fresh process
 * that exits right after.
 */
async function loadedAtStart (args: readonly string[]): Promise<Loaded> {
  // Read once the server listens and its listening line is out: whatever that loads counts too.
  const script = `
    const net = require('node:net')
    const listen = net.Server.prototype.listen
    net.Server.prototype.listen = function (...args) {
      this.once('listening', () => { setImmediate(report) })
      return listen.apply(this, args)
    }
    function report () {
      const builtins = process.moduleLoadList.filter(name => name.startsWith('NativeModule ')).map(name => name.slice(13))
      process.stderr.write(JSON.stringify({ files: Object.keys(require.cache), builtins }))
      process.exit(0)
    }
    const { main } = require(${JSON.stringify(CLI)})
    main(${JSON.stringify(['--host', '127.0.0.1', '--port', '0', ...args])})
  `
  const { code, stderr } = await run(process.execPath, ['-e', script])
  expect(code).toBe(0)
  return JSON.parse(stderr) as Loaded
}

// Issue 11: the standalone server's idle memory is mostly the code it has loaded (RSS 55 MB against
// 46 for a minimal node:http fan-out). Code the default run never uses is loaded when first needed.
describe('httpipe (standalone) at start', () => {
  it('loads no token, request/response-mode or http-errors code, nor node:crypto, with the defaults', async () => {
    const { files, builtins } = await loadedAtStart([])
    expect(files.filter(file => /[/\\](token-file|reqres-mode|reqres-jobs|metrics|tls-files|cli-expose)\.js$/.test(file))).toStrictEqual([])
    expect(files.filter(file => /[/\\]node_modules[/\\](http-errors|depd|statuses|prom-client|pino-pretty)[/\\]/.test(file))).toStrictEqual([])
    expect(builtins.filter(name => ['crypto', 'http2', 'tls', 'https'].includes(name))).toStrictEqual([])
    // pino is its logger (loaded at start: it writes the "listening" line).
    expect(files.some(file => /[/\\]node_modules[/\\]pino[/\\]pino\.js$/.test(file))).toBe(true)
  })

  it('loads the token code for --anonymous below all', async () => {
    const { files } = await loadedAtStart(['--anonymous', 'read'])
    expect(files.some(file => /[/\\]token-file\.js$/.test(file))).toBe(true)
  })
})
