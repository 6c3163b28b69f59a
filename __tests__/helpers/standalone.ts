import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'

export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js')

export interface Standalone {
  readonly url: string
  readonly process: ChildProcess
  /** Everything the process printed to stdout so far. */
  readonly output: () => string
  /** Everything the process printed to stderr so far. */
  readonly errors: () => string
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>
  /** Kills the process (by its PID) if it is still running, and waits for it. */
  readonly stop: () => Promise<void>
}

/**
 * Starts the built CLI (`npm test` builds first) on an ephemeral port and resolves once it prints
 * the address it listens on.
 */
export async function startStandalone (args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Standalone> {
  // An explicit PORT in `env` is the thing under test; otherwise take any free port.
  const portArgs = env.PORT === undefined ? ['--port', '0'] : []
  const child = spawn(process.execPath, [CLI, '--host', '127.0.0.1', ...portArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit').then(([code]) => code as number | null)

  const url = await new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const match = /listening on (https?:\/\/\S+)\/channels/.exec(stdout)
      if (match?.[1] !== undefined) {
        child.stdout.off('data', onData)
        resolve(match[1])
      }
    }
    child.stdout.on('data', onData)
    exited.then(code => { reject(new Error(`httpipe exited with ${String(code)} before listening: ${stderr}`)) })
  })

  return {
    url,
    process: child,
    output: () => stdout,
    errors: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  }
}

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion, feeding it `input`. */
export async function run (command: string, args: readonly string[], input?: Buffer | string): Promise<Run> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  // A client such as curl may stop reading its input once answered (a 413 mid-upload).
  child.stdin.on('error', () => {})
  child.stdin.end(input)
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout: Buffer.concat(stdout).toString('latin1'), stderr: Buffer.concat(stderr).toString() }
}
