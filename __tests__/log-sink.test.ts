import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from '@jest/globals'
import { LogSink } from '../lib/log-sink'

// The standalone server's log destination: every line reaches the descriptor whole and in order.
let dir: string | undefined
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

function file (): { path: string, fd: number } {
  dir = mkdtempSync(join(tmpdir(), 'httpipe-log-sink-'))
  const path = join(dir, 'log')
  return { path, fd: openSync(path, 'w') }
}

/** Lines of every size the sink treats differently: short, near a buffer's end, longer than one. */
function lines (): string[] {
  const out: string[] = []
  for (let i = 0; i < 2000; i++) {
    const size = i % 97 === 0 ? 30_000 + i : i % 331 === 0 ? 200_000 : i % 7
    // Multi-byte characters too: a line is measured in bytes, not in UTF-16 code units.
    out.push(`${i} ${'é€😀x'.repeat(size)}\n`)
  }
  return out
}

describe('LogSink', () => {
  it('writes every line whole and in order, short and long, multi-byte included; drain resolves once all is written', async () => {
    const { path, fd } = file()
    const sink = new LogSink(fd)
    const written = lines()
    for (const line of written) sink.write(line)
    await sink.drain()
    expect(readFileSync(path, 'utf8')).toBe(written.join(''))
    // Written again after a drain, from spare buffers.
    sink.write('after\n')
    await sink.drain()
    expect(readFileSync(path, 'utf8')).toBe(`${written.join('')}after\n`)
    sink.flushSync()
    closeSync(fd)
  })

  it('writes a few small lines within the flush interval, without a drain', async () => {
    const { path, fd } = file()
    const sink = new LogSink(fd)
    sink.write('one\n')
    sink.write('two\n')
    // Under 4 KiB: written by the 100 ms timer, not at once.
    expect(readFileSync(path, 'utf8')).toBe('')
    const deadline = Date.now() + 5000
    while (readFileSync(path, 'utf8') === '' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    expect(readFileSync(path, 'utf8')).toBe('one\ntwo\n')
    sink.flushSync()
    closeSync(fd)
  })

  it('to a regular file, writes 4 KiB or more in place, without waiting for another turn', () => {
    const { path, fd } = file()
    const sink = new LogSink(fd)
    const line = `${'x'.repeat(99)}\n`
    for (let i = 0; i < 41; i++) sink.write(line)
    // 4100 bytes: past the batch size, so written within the last call.
    expect(readFileSync(path, 'utf8')).toBe(line.repeat(41))
    sink.flushSync()
    closeSync(fd)
  })

  it('flushSync writes what waits at once (the process is exiting)', () => {
    const { path, fd } = file()
    const sink = new LogSink(fd)
    sink.write('last words\n')
    sink.flushSync()
    expect(readFileSync(path, 'utf8')).toBe('last words\n')
    closeSync(fd)
  })

  it('a descriptor that fails drops the rest without throwing, and drain still resolves', async () => {
    const { fd } = file()
    closeSync(fd)
    const sink = new LogSink(fd)
    for (const line of lines().slice(0, 50)) sink.write(line)
    await sink.drain()
    expect(() => { sink.write('more\n') }).not.toThrow()
    await sink.drain()
    sink.flushSync()
  })

  it.each([
    ['a blocking pipe', ''],
    // process.stdout on a pipe makes the descriptor non-blocking: a full pipe then answers EAGAIN.
    ['a non-blocking pipe (EAGAIN when full)', 'void process.stdout;']
  ])('writes 4 MB through %s that its reader stops reading, once it reads again', async (_name, prelude) => {
    const script = `${prelude}
      const { LogSink } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'log-sink.js'))})
      const sink = new LogSink(1)
      for (let i = 0; i < 40000; i++) sink.write(i + ' ' + 'x'.repeat(90) + '\\n')
      process.stderr.write('queued\\n')
      sink.drain().then(() => process.stderr.write('drained\\n'))`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>(resolve => child.once('close', resolve))
    child.stdout.pause()
    let stderr = ''
    // Read only once every line is queued: by then the pipe is full and the writer waits on it.
    await new Promise<void>(resolve => child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (stderr.includes('queued')) resolve()
    }))
    const chunks: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.stdout.resume()
    expect(await exited).toBe(0)
    expect(stderr).toBe('queued\ndrained\n')
    let expected = ''
    for (let i = 0; i < 40000; i++) expected += `${i} ${'x'.repeat(90)}\n`
    expect(Buffer.concat(chunks).toString()).toBe(expected)
  })
})
