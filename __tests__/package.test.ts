// The package as users get it: `npm pack`, the tarball installed into throwaway projects (CommonJS,
// ESM, TypeScript nodenext and bundler, and one without Express), each importing it, type-checking
// with skipLibCheck: false and running a real transfer. Also what the built entry point loads.
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import ts from 'typescript'

const exec = promisify(execFile)
const ROOT = resolve(__dirname, '..')
const DIST = join(ROOT, 'dist')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
// npm installs from its cache (filled by `npm ci`), so the versions are the lock file's own.
const version = (name: string): string => (require(join(ROOT, 'node_modules', name, 'package.json')) as { version: string }).version

interface Output { readonly stdout: string, readonly stderr: string }

async function sh (command: string, args: readonly string[], cwd: string): Promise<Output> {
  try {
    return await exec(command, [...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } })
  } catch (err) {
    const { stdout, stderr } = err as Output
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`)
  }
}

async function writeFiles (dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true })
    await writeFile(join(dir, name), content)
  }
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

/** strict, skipLibCheck: false, only @types/node in scope: what a careful app compiles with. */
function tsconfig (compilerOptions: Record<string, unknown>): string {
  return json({ compilerOptions: { strict: true, skipLibCheck: false, types: ['node'], target: 'es2022', outDir: 'out', ...compilerOptions }, include: ['src'] })
}

// A real transfer: a consumer waits, a producer sends bytes no text encoding keeps intact, the
// consumer must get them exactly and the producer its 200. `listener` serves channels at /channels.
const TRANSFER_JS = `
async function transfer (listener, pipe, label) {
  const server = createServer(listener)
  server.requestTimeout = 0
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const base = 'http://127.0.0.1:' + server.address().port + '/channels/smoke/' + label
  const payload = Buffer.from(Array.from({ length: 70001 }, (_, i) => (i * 7 + 3) % 256))
  const received = new Promise((resolve, reject) => {
    request(base, res => {
      const chunks = []
      res.on('data', chunk => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: Buffer.concat(chunks) }))
    }).on('error', reject).end()
  })
  while (pipe.stats().waitingConsumers !== 1) await new Promise(resolve => setImmediate(resolve))
  const sent = await new Promise((resolve, reject) => {
    request(base, { method: 'POST', headers: { 'Content-Type': 'application/x-smoke' } }, res => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
    }).on('error', reject).end(payload)
  })
  const got = await received
  server.close()
  if (sent !== 200 || got.status !== 200 || got.type !== 'application/x-smoke' || !got.body.equals(payload)) {
    throw new Error(label + ': transfer failed: ' + JSON.stringify({ sent, status: got.status, type: got.type, bytes: got.body.length }))
  }
  console.log(label + ' ok ' + got.body.length)
}
`
// The same, typed, for the TypeScript projects.
const TRANSFER_TS = TRANSFER_JS
  .replace('async function transfer (listener, pipe, label) {', 'async function transfer (listener: RequestListener, pipe: HttpipeControls, label: string): Promise<void> {')
  .replace('server.address().port', '(server.address() as AddressInfo).port')
  .replace('const received = new Promise(', 'const received = new Promise<{ status: number | undefined, type: string | undefined, body: Buffer }>(')
  .replace('const chunks = []', 'const chunks: Buffer[] = []')
  .replace('const sent = await new Promise(', 'const sent = await new Promise<number | undefined>(')
  .replace('new Promise(resolve => server.listen', 'new Promise<void>(resolve => server.listen')

const EXPRESS_CJS = `'use strict'
const assert = require('node:assert')
const { createServer, request } = require('node:http')
const express = require('express')
const pkg = require('httpipe')
const { httpipe, createHandler } = require('httpipe')
assert.strictEqual(typeof httpipe, 'function')
assert.strictEqual(typeof createHandler, 'function')
assert.strictEqual(pkg.default, httpipe)
${TRANSFER_JS}
const pipe = httpipe()
const app = express()
app.use('/channels', pipe)
transfer(app, pipe, 'cjs-express').catch(err => { console.error(err); process.exit(1) })
`

const EXPRESS_ESM = `import assert from 'node:assert'
import { createServer, request } from 'node:http'
import express from 'express'
import httpipe, { httpipe as named, createHandler } from 'httpipe'
assert.strictEqual(typeof httpipe, 'function')
assert.strictEqual(httpipe, named)
assert.strictEqual(typeof createHandler, 'function')
${TRANSFER_JS}
const pipe = httpipe()
const app = express()
app.use('/channels', pipe)
await transfer(app, pipe, 'esm-express')
`

// Type-checked with the package's own types: the lines under @ts-expect-error prove that none of
// them has become \`any\` (an error is expected there; with \`any\` there would be none, and tsc fails).
const TYPES_TS = `
const options: HttpipeOptions = { timeout: 60_000, concurrency: 2, limits: { bodySize: 1 << 20, waiters: 100 } }
// @ts-expect-error an unknown option
const misspelt: HttpipeOptions = { timeuot: 1 }
function describeError (err: HttpipeError): string {
  const type: HttpipeErrorType = err.type
  // @ts-expect-error status is a number
  const status: string = err.status
  return \`\${err.statusCode} \${type} \${err.expose ? err.message : ''} \${err.headers?.['Retry-After'] ?? ''} \${status}\`
}
// @ts-expect-error not a type httpipe reports
const notAType: HttpipeErrorType = 'no.such.type'
function describeProgress (progress: TransferProgress): string {
  return \`\${progress.namespace}/\${progress.channel} \${progress.bytes} of \${progress.total ?? '?'}\`
}
function describeStats (stats: HttpipeStats): string {
  // @ts-expect-error a count, not a string
  const waiting: string = stats.waitingProducers
  return \`\${stats.runningTransfers} \${stats.transfers.map(describeProgress).join()} \${waiting}\`
}
void [options, misspelt, notAType, describeError, describeStats]
`

const EXPRESS_TS = `import { createServer, request, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type ErrorRequestHandler } from 'express'
import httpipe, { httpipe as named, createHandler, type HttpipeControls, type HttpipeError, type HttpipeErrorType, type HttpipeMiddleware, type HttpipeOptions, type HttpipeStats, type TransferProgress } from 'httpipe'
${TYPES_TS}
${TRANSFER_TS}
const pipe: HttpipeMiddleware = httpipe(options)
const app = express()
app.use('/channels', pipe)
app.use('/other', named())
const onError: ErrorRequestHandler = (err: HttpipeError, _req, res, next) => {
  if (res.headersSent) return next(err)
  res.status(err.status).type('text/plain').send(describeError(err))
}
app.use(onError)
transfer(app, pipe, process.argv[2] ?? 'ts').catch((err: unknown) => { console.error(err); process.exit(1) })
`

const NO_EXPRESS_TS = `import { createServer, request, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHandler, type HttpipeControls, type HttpipeError, type HttpipeErrorType, type HttpipeOptions, type HttpipeStats, type TransferProgress } from 'httpipe'
${TYPES_TS}
${TRANSFER_TS}
const pipe = createHandler(options)
const listener: RequestListener = (req, res) => {
  req.url = (req.url ?? '/').slice('/channels'.length)
  pipe(req, res)
}
transfer(listener, pipe, 'ts-no-express').catch((err: unknown) => { console.error(err); process.exit(1) })
`

const NO_EXPRESS_CJS = `'use strict'
const { createServer, request } = require('node:http')
const before = new Set(Object.keys(require.cache))
const { createHandler, httpipe } = require('httpipe')
const loaded = Object.keys(require.cache).filter(path => !before.has(path) && /[\\\\/]node_modules[\\\\/]express[\\\\/]/.test(path))
if (loaded.length > 0) throw new Error('express loaded: ' + loaded.join())
try { require.resolve('express'); throw new Error('express is installed here') } catch (err) { if (err.code !== 'MODULE_NOT_FOUND') throw err }
if (typeof httpipe !== 'function') throw new Error('no httpipe export')
${TRANSFER_JS}
const pipe = createHandler()
transfer((req, res) => { req.url = req.url.slice('/channels'.length); pipe(req, res) }, pipe, 'cjs-no-express')
  .catch(err => { console.error(err); process.exit(1) })
`

const NO_EXPRESS_ESM = `import { createServer, request } from 'node:http'
import httpipe, { createHandler } from 'httpipe'
if (typeof httpipe !== 'function') throw new Error('default export is not the function')
${TRANSFER_JS}
const pipe = createHandler()
await transfer((req, res) => { req.url = req.url.slice('/channels'.length); pipe(req, res) }, pipe, 'esm-no-express')
`

// tsc over @types/express with skipLibCheck: false takes a while on a busy 2-core machine.
jest.setTimeout(120_000)

let work = ''
let withExpress = ''
let withoutExpress = ''
let tarball = ''

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'httpipe-package-'))
  // --ignore-scripts: `npm test` has just built dist/, and a rebuild would pull it from under the
  // other test files running now.
  const packed = JSON.parse((await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)).stdout) as Array<{ filename: string }>
  tarball = join(work, packed[0]?.filename ?? '')
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tarball]
  withExpress = join(work, 'with-express')
  withoutExpress = join(work, 'without-express')
  await writeFiles(withExpress, { 'package.json': json({ name: 'smoke-with-express', private: true }) })
  await writeFiles(withoutExpress, { 'package.json': json({ name: 'smoke-without-express', private: true }) })
  await Promise.all([
    sh('npm', [...install, `express@${version('express')}`, `@types/express@${version('@types/express')}`, `@types/node@${version('@types/node')}`], withExpress),
    sh('npm', [...install, `@types/node@${version('@types/node')}`], withoutExpress)
  ])
}, 180_000)

afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true })
})

describe('the packed tarball', () => {
  it('holds dist/ mirroring lib/, both entry points, and no source maps or build leftovers', async () => {
    const listing = (await sh('tar', ['-tzf', tarball], work)).stdout.split('\n').filter(Boolean).sort()
    expect(listing).toContain('package/dist/index.js')
    expect(listing).toContain('package/dist/index.mjs')
    expect(listing).toContain('package/dist/index.d.ts')
    expect(listing).toContain('package/dist/index.d.mts')
    expect(listing).toContain('package/dist/cli.js')
    expect(listing.filter(path => !/^package\/(dist\/[\w-]+\.(js|mjs|d\.ts|d\.mts)|dist\/ui\/page(-[a-z]+)?\.(html|css|js)|package\.json|metrics\/package\.json|README\.md|LICENSE)$/.test(path))).toEqual([])
    expect(listing.filter(path => path.endsWith('.map') || path.includes('/lib/') || path.includes('/examples/'))).toEqual([])
  })

  it('runs with Express from CommonJS: require(\'httpipe\') and require(\'httpipe\').httpipe', async () => {
    const dir = join(withExpress, 'cjs')
    await writeFiles(dir, { 'package.json': json({ type: 'commonjs' }), 'main.js': EXPRESS_CJS })
    expect((await sh(process.execPath, ['main.js'], dir)).stdout).toBe('cjs-express ok 70001\n')
  })

  it('runs with Express from ESM: import httpipe from \'httpipe\' is the function', async () => {
    const dir = join(withExpress, 'esm')
    await writeFiles(dir, { 'package.json': json({ type: 'module' }), 'main.js': EXPRESS_ESM })
    expect((await sh(process.execPath, ['main.js'], dir)).stdout).toBe('esm-express ok 70001\n')
  })

  it('type-checks and runs in TypeScript with module nodenext, as ESM and as CommonJS, against @types/express 5', async () => {
    const dir = join(withExpress, 'ts-nodenext')
    await writeFiles(dir, {
      'package.json': json({ type: 'module' }),
      'tsconfig.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true }),
      'src/main.ts': EXPRESS_TS,
      'src/main-cjs.cts': EXPRESS_TS
    })
    await sh(process.execPath, [TSC, '-p', '.'], dir)
    expect((await sh(process.execPath, ['out/main.js', 'ts-nodenext-esm'], dir)).stdout).toBe('ts-nodenext-esm ok 70001\n')
    expect((await sh(process.execPath, ['out/main-cjs.cjs', 'ts-nodenext-cjs'], dir)).stdout).toBe('ts-nodenext-cjs ok 70001\n')
  })

  it('type-checks and runs in TypeScript with moduleResolution bundler', async () => {
    const dir = join(withExpress, 'ts-bundler')
    await writeFiles(dir, {
      'package.json': json({ type: 'module' }),
      'tsconfig.json': tsconfig({ module: 'preserve', moduleResolution: 'bundler', esModuleInterop: true }),
      'src/main.ts': EXPRESS_TS
    })
    await sh(process.execPath, [TSC, '-p', '.'], dir)
    expect((await sh(process.execPath, ['out/main.js', 'ts-bundler'], dir)).stdout).toBe('ts-bundler ok 70001\n')
  })

  describe('without Express installed', () => {
    it('loads from CommonJS without loading Express, and relays with createHandler()', async () => {
      const dir = join(withoutExpress, 'cjs')
      await writeFiles(dir, { 'package.json': json({ type: 'commonjs' }), 'main.js': NO_EXPRESS_CJS })
      expect((await sh(process.execPath, ['main.js'], dir)).stdout).toBe('cjs-no-express ok 70001\n')
    })

    it('loads from ESM and relays with createHandler()', async () => {
      const dir = join(withoutExpress, 'esm')
      await writeFiles(dir, { 'package.json': json({ type: 'module' }), 'main.js': NO_EXPRESS_ESM })
      expect((await sh(process.execPath, ['main.js'], dir)).stdout).toBe('esm-no-express ok 70001\n')
    })

    it('type-checks with only @types/node and skipLibCheck: false (no TS7016/TS2307), and relays', async () => {
      const dir = join(withoutExpress, 'ts')
      await writeFiles(dir, {
        'package.json': json({ type: 'module' }),
        'tsconfig.json': tsconfig({ module: 'nodenext', moduleResolution: 'nodenext', exactOptionalPropertyTypes: true }),
        'src/main.ts': NO_EXPRESS_TS
      })
      await sh(process.execPath, [TSC, '-p', '.'], dir)
      expect((await sh(process.execPath, ['out/main.js'], dir)).stdout).toBe('ts-no-express ok 70001\n')
    })

    it('runs the httpipe bin from the installed package', async () => {
      const { stdout } = await sh(join(withoutExpress, 'node_modules', '.bin', 'httpipe'), ['--version'], withoutExpress)
      expect(stdout).toBe(`${(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`)
    })
  })
})

describe('dist/index.js', () => {
  it('adds no Express module to require.cache (in a fresh process)', async () => {
    const probe = (entry: string): string => `
      require(${JSON.stringify(entry)})
      console.log(JSON.stringify(Object.keys(require.cache).filter(path => path.includes('/node_modules/express/'))))`
    expect(JSON.parse((await sh(process.execPath, ['-e', probe(join(DIST, 'index.js'))], ROOT)).stdout)).toEqual([])
    // The probe sees Express when it is loaded, so the empty list above means something.
    expect((JSON.parse((await sh(process.execPath, ['-e', probe('express')], ROOT)).stdout) as string[]).length).toBeGreaterThan(0)
  })

  it('loads undici (the workers\' HTTP client) only once serve() or expose() starts workers', async () => {
    const loaded = "Object.keys(require.cache).filter(path => path.includes('/node_modules/undici/')).length"
    const { stdout } = await sh(process.execPath, ['-e', `
      const { httpipe, createHandler, serve } = require(${JSON.stringify(join(DIST, 'index.js'))})
      httpipe(); createHandler()
      const before = ${loaded}
      const serving = serve('http://127.0.0.1:9/res/a/b', (req, res) => { res.end() }, { workers: 1 })
      // The workers start once serve()'s own server listens: report as soon as undici is in, or give up after 5 s.
      const deadline = Date.now() + 5000
      const report = () => {
        if (${loaded} === 0 && Date.now() < deadline) { setImmediate(report); return }
        console.log(JSON.stringify([before, ${loaded}])); serving.close()
      }
      report()`], ROOT)
    const [before, after] = JSON.parse(stdout) as [number, number]
    expect(before).toBe(0)
    expect(after).toBeGreaterThan(0)
  })

  it('publishes types that import nothing but node: modules (no express, no http-errors)', () => {
    const seen = new Set<string>()
    const external = new Set<string>()
    const visit = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const info = ts.preProcessFile(ts.sys.readFile(file) ?? '', true, true)
      for (const ref of info.typeReferenceDirectives) external.add(`types:${ref.fileName}`)
      for (const { fileName } of info.importedFiles) {
        if (!fileName.startsWith('.')) {
          external.add(fileName)
          continue
        }
        const base = resolve(dirname(file), fileName).replace(/\.m?js$/, '')
        const candidates = fileName.endsWith('.mjs') ? [`${base}.d.mts`] : [`${base}.d.ts`]
        const next = candidates.find(candidate => ts.sys.fileExists(candidate))
        if (next === undefined) throw new Error(`${file} imports ${fileName}, which has no declaration file`)
        visit(next)
      }
    }
    visit(join(DIST, 'index.d.ts'))
    visit(join(DIST, 'index.d.mts'))
    expect(seen.size).toBeGreaterThan(5)
    expect([...external].filter(name => !name.startsWith('node:'))).toEqual([])
  })
})

// Moved from cors-ui.test.ts (a child process, so not in the unit project); same name as there.
describe('the web page files', () => {
  it('are read and hashed when the page is first served, never when the package is loaded', async () => {
    // A child process, for a module cache and a readFileSync of its own; run against the build.
    const script = `
      const fs = require('node:fs')
      const read = fs.readFileSync
      const seen = []
      fs.readFileSync = function (file, ...rest) { seen.push(String(file)); return read.call(this, file, ...rest) }
      const { createHandler } = require(${JSON.stringify(join(DIST, 'index.js'))})
      createHandler({ ui: true })
      const isPageFile = file => /[\\/]ui[\\/]page[\\w.-]*$/.test(file)
      const before = seen.filter(isPageFile).length
      require(${JSON.stringify(join(DIST, 'ui.js'))}).uiPage()
      const after = seen.filter(isPageFile).length
      process.stdout.write(JSON.stringify({ before, after }))
    `
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const [code] = await once(child, 'close') as [number | null]
    expect(code).toBe(0)
    // page.html, page.css and the six scripts.
    expect(JSON.parse(output)).toEqual({ before: 0, after: 8 })
  })
})
