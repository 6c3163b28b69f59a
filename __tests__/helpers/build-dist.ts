import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

// Jest's globalSetup for the e2e project, whose suites spawn the CLI from dist/ or pack it: the
// build is rebuilt whenever it is not the build of the sources as they are now, so no test runs a
// stale one, even under a bare `npx jest` after an edit. A full build costs 5 to 15 s on two cores,
// so it runs only when needed: the stamp records a digest of what went into the last build
// (lib/, the tsconfigs, the build script, the TypeScript version) and of the dist/ it produced, and
// either one differing (an edit, a branch switch, a `npm run build` of other sources, a deleted
// or hand-edited dist/) rebuilds. The stamp lives outside dist/ so it is never packed.

const ROOT = join(__dirname, '..', '..')
const DIST = join(ROOT, 'dist')
const STAMP = join(ROOT, 'node_modules', '.cache', 'httpipe', 'dist-stamp.json')

interface Stamp {
  readonly inputs: string
  readonly outputs: string
}

/** Every file under `dir`, sorted, so that the digest does not depend on directory order. */
function filesUnder (dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .flatMap(entry => entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [])
    .sort()
}

function digest (files: readonly string[], extra = ''): string {
  const hash = createHash('sha256').update(extra)
  for (const file of files) hash.update(`\0${relative(ROOT, file)}\0`).update(readFileSync(file))
  return hash.digest('hex')
}

function inputsDigest (): string {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string }
  const files = [...filesUnder(join(ROOT, 'lib')), join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')]
  return digest(files, `${scripts.build ?? ''}\0typescript ${version}`)
}

function outputsDigest (): string {
  const files = filesUnder(DIST)
  return files.length === 0 ? '' : digest(files)
}

function readStamp (): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8')) as Stamp
  } catch {
    return undefined
  }
}

/** Builds dist/ unless it is the build of the current sources. */
export default function buildDist (): void {
  // Taken before building: a file edited during the build makes the next run build again.
  const inputs = inputsDigest()
  const stamp = readStamp()
  const outputs = outputsDigest()
  if (stamp !== undefined && outputs !== '' && stamp.inputs === inputs && stamp.outputs === outputs) return
  process.stderr.write(`\nhttpipe tests: building dist/ (${outputs === '' ? 'no build yet' : 'it is not the build of the current sources'})\n`)
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
  mkdirSync(dirname(STAMP), { recursive: true })
  writeFileSync(STAMP, JSON.stringify({ inputs, outputs: outputsDigest() } satisfies Stamp))
}
