import { execFileSync } from 'node:child_process'

/**
 * Writes a self-signed certificate for 127.0.0.1 and localhost (1 day, RSA 2048) to `cert` and
 * its key to `key`, with the openssl binary: made at test time, so nothing secret is committed.
 */
export function makeCertificate (cert: string, key: string, name = 'httpipe test'): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' })
}
