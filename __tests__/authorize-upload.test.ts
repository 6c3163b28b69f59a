import { afterEach, describe, expect, it } from '@jest/globals'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HttpipeAuthorize } from '../lib'
import { createStandaloneServer } from '../lib/server'
import { adapters } from './helpers/app'
import { listen, type Listening } from './helpers/http'
import { run } from './helpers/standalone'

const MiB = 1024 * 1024
const deny: HttpipeAuthorize = () => ({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="httpipe"' } })

let closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers) await close()
  closers = []
})

async function listenStandalone (authorize: HttpipeAuthorize): Promise<string> {
  const { server } = createStandaloneServer({ authorize })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  closers.push(async () => await closeServer(server))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function closeServer (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => { resolve() }))
}

/** Sends the head of a 64 MiB upload, then its body as fast as the connection takes it, until the server closes. */
async function deniedUpload (port: number, path: string): Promise<{ head: string, written: number, closedBeforeEnd: boolean }> {
  const socket = connect(port, '127.0.0.1')
  const total = 64 * MiB
  let received = ''
  let written = 0
  const state = { closed: false }
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('error', () => {})
  const ended = new Promise<void>(resolve => socket.once('close', () => { state.closed = true; resolve() }))
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${total}\r\n\r\n`)
  const chunk = Buffer.alloc(256 * 1024, 120)
  while (!state.closed && written < total) {
    const ok = socket.write(chunk)
    written += chunk.length
    if (!ok) await Promise.race([new Promise(resolve => socket.once('drain', resolve)), ended])
  }
  await ended
  return { head: received.split('\r\n\r\n')[0] ?? '', written, closedBeforeEnd: written < total }
}

describe.each(adapters)('a denied 64 MiB upload ($name)', ({ create }) => {
  let server: Listening | undefined
  afterEach(async () => { await server?.close(); server = undefined })

  it('is answered without being read, and its connection is closed', async () => {
    const { app } = create({ authorize: deny })
    server = await listen(app)
    const { head, written, closedBeforeEnd } = await deniedUpload(server.port, '/channels/ns/ch')
    expect(head).toMatch(/^HTTP\/1\.1 401 /)
    expect(head).toMatch(/\r\nWWW-Authenticate: Bearer realm="httpipe"/i)
    expect(head).toMatch(/\r\nConnection: close/i)
    // The server read at most its lingering bound (1 MiB) past the answer, plus what the sockets buffer.
    expect(closedBeforeEnd).toBe(true)
    expect(written).toBeLessThan(32 * MiB)
  })
})

describe('the standalone server with authorize and Expect: 100-continue', () => {
  let dir = ''
  afterEach(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }) })

  function upload (): string {
    dir = mkdtempSync(join(tmpdir(), 'httpipe-expect-'))
    const file = join(dir, 'upload.bin')
    writeFileSync(file, Buffer.alloc(4 * MiB, 1))
    return file
  }

  it('sends no 100 to a denied upload (curl -H "Expect: 100-continue")', async () => {
    const url = await listenStandalone(deny)
    const result = await run('curl', ['-sS', '-v', '-H', 'Expect: 100-continue', '--expect100-timeout', '30', '-T', upload(), `${url}/channels/ns/ch`])
    expect(result.stderr).toMatch(/< HTTP\/1\.1 401 /)
    expect(result.stderr).not.toMatch(/< HTTP\/1\.1 100/)
    expect(result.stderr).toMatch(/< WWW-Authenticate: Bearer realm="httpipe"/i)
  })

  it('sends the 100 once an asynchronous hook allows, and the upload goes through', async () => {
    const url = await listenStandalone(async () => await Promise.resolve(true))
    const consumer = run('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', `${url}/channels/ns/ch`])
    const result = await run('curl', ['-sS', '-v', '-H', 'Expect: 100-continue', '--expect100-timeout', '30', '-T', upload(), `${url}/channels/ns/ch`])
    expect(result.stderr).toMatch(/< HTTP\/1\.1 100 Continue/)
    expect(result.stderr).toMatch(/< HTTP\/1\.1 200 /)
    expect((await consumer).stdout).toBe(String(4 * MiB))
  })
})
