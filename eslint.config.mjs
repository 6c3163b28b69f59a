import neostandard from 'neostandard'

// neostandard resolves environment globals (from the `globals` package it depends on) into one
// config object; take only that object, for the page's browser script.
const browserGlobals = neostandard({ env: ['browser'] }).find(config => config.name === 'neostandard/globals')

export default [
  ...neostandard({ ts: true, filesTs: ['**/*.mts'], ignores: ['dist', 'coverage', 'bench/results'] }),
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }]
    }
  },
  {
    // The package must load and type-check without Express (createHandler(), the standalone
    // server): Express is an optional peer, and the published types stand alone. Type imports too.
    files: ['lib/**/*.ts', 'lib/**/*.mts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'express', message: 'lib/ must not depend on Express: use node:http types' }] }]
    }
  },
  {
    // The web page's script runs in the browser, not in Node.
    files: ['lib/ui/**/*.js'],
    languageOptions: { sourceType: 'script', globals: browserGlobals.languageOptions.globals }
  },
  {
    // The registry is the reusable core of the package: no HTTP framework may leak into it.
    files: ['lib/channel-registry.ts', 'lib/waiter-queue.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['express', 'http', 'node:http', 'http-errors'] }]
    }
  }
]
