import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs'
import { createSecureContext } from 'node:tls'
import type { Http2SecureServer } from 'node:http2'
import type { StandaloneTls } from './server'

export interface TlsFiles {
  readonly cert: string
  readonly key: string
}

/** Reads a certificate and key, and checks that they make a context (a matching pair, PEM). */
export function readTls (files: TlsFiles): StandaloneTls {
  const cert = read('--tls-cert', files.cert)
  const key = read('--tls-key', files.key)
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new Error(`--tls-cert ${files.cert} and --tls-key ${files.key} do not make a certificate and its key: ${(err as Error).message}`)
  }
  return { cert, key }
}

function read (flag: string, file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new Error(`${flag} cannot read ${file}: ${(err as Error).message}`)
  }
}

// How often the files are checked: renewals replace them (often by renaming, as certbot does,
// which inotify-based fs.watch loses track of), and a second is soon enough for a certificate.
const POLL_MS = 1000

/**
 * Reloads the certificate when either file changes: new connections get the new one, open ones
 * keep theirs. A pair that does not load (one file written, the other not yet) is reported and
 * the old one kept; the next change retries. Returns a function that stops watching.
 */
export function watchTls (server: Http2SecureServer, files: TlsFiles, report: (message: string) => void): () => void {
  const onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return
    try {
      server.setSecureContext(readTls(files))
      report(`httpipe: reloaded the certificate from ${files.cert}`)
    } catch (err) {
      report(`httpipe: kept the previous certificate: ${(err as Error).message}`)
    }
  }
  for (const file of [files.cert, files.key]) watchFile(file, { interval: POLL_MS, persistent: false }, onChange)
  return () => {
    for (const file of [files.cert, files.key]) unwatchFile(file, onChange)
  }
}
