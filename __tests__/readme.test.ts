import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'

const ROOT = join(__dirname, '..')
const EXAMPLES = join(ROOT, 'examples')

/** Lines without trailing whitespace, and no trailing blank lines: how a block and a file compare. */
function normalize (code: string): string {
  return code.split('\n').map(line => line.trimEnd()).join('\n').replace(/\n+$/, '')
}

/** The TypeScript and JavaScript code blocks of the README, in order. */
function readmeBlocks (): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  return [...readme.matchAll(/^```(?:ts|typescript|js|javascript)\n([\s\S]*?)^```$/gm)].map(match => normalize(match[1] ?? ''))
}

/** What a block may equal: a whole file under examples/, or a `// #region NAME` … `// #endregion` part of one. */
function exampleTexts (): Map<string, string> {
  const texts = new Map<string, string>()
  for (const name of readdirSync(EXAMPLES).filter(file => /\.(ts|mts|cts)$/.test(file))) {
    const source = readFileSync(join(EXAMPLES, name), 'utf8')
    texts.set(normalize(source), name)
    for (const match of source.matchAll(/^\/\/ #region (\S+)\n([\s\S]*?)^\/\/ #endregion\b.*$/gm)) {
      texts.set(normalize(match[2] ?? ''), `${name} #region ${match[1] ?? ''}`)
    }
  }
  return texts
}

describe('README.md', () => {
  it('has TypeScript or JavaScript blocks to check', () => {
    expect(readmeBlocks().length).toBeGreaterThanOrEqual(3)
  })

  it.each(readmeBlocks().map((block, i): [number, string, string] => [i + 1, block.split('\n')[0] ?? '', block]))('shows code block %i (%s) exactly as a file under examples/ has it', (_, _first, block) => {
    const texts = exampleTexts()
    // On failure, the block itself is the message: copy it into examples/, or fix the README.
    expect({ block, found: texts.has(block) }).toEqual({ block, found: true })
  })

  it('has its examples type-checked in strict mode by npm run typecheck, importing httpipe as users do', () => {
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown>, include: string[] }
    expect(tsconfig.include).toContain('examples')
    expect(tsconfig.compilerOptions.strict).toBe(true)
    expect(tsconfig.compilerOptions.noEmit).toBe(true)
    expect(tsconfig.compilerOptions.paths).toEqual({ httpipe: ['./lib/index.ts'], 'httpipe/metrics': ['./lib/metrics.ts'] })
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
    expect(scripts.typecheck).toMatch(/^tsc --noEmit -p \.( && |$)/)
  })
})

describe('README.md Install', () => {
  it('installs the tarball npm pack writes for this version, and mentions express as optional', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('## Quick start'))
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(install).toContain('npm ci && npm pack')
    expect(install).toContain(`npm install /path/to/the/clone/httpipe-${version}.tgz express`)
    expect(install).toContain('optional peer dependency')
  })
})
