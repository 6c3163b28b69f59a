/**
 * Type-checked with the rest by `npm run typecheck` (tsconfig.json includes it): jest only needs it
 * transpiled, which takes ts-node's type-checking (3 s of CPU) off every start.
 *
 * @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}}
 */
import type { Config } from 'jest'

type Project = Exclude<NonNullable<Config['projects']>[number], string>

const common: Project = {
  testEnvironment: 'node',
  transform: {
    // TS151002 only warns that nodenext prefers isolatedModules; silencing it keeps type-checking on.
    '^.+\\.ts$': ['ts-jest', { diagnostics: { ignoreCodes: [151002] } }]
  }
}

// The fast suites, `npm run test:unit`: pure modules and the HTTP contract against in-process
// servers on 127.0.0.1. No child process, real client (curl, wget, Python, Chromium), proxy,
// package packing, soak, long property run or bulk stress (fan-out pushes 32 MiB bodies through
// stalled subscribers: 40 s of CPU on its own). A new suite runs in `e2e` (so in `npm test`)
// until it is listed here.
const UNIT = [
  'abort', 'authorize', 'channel-key', 'channel-registry', 'cli', 'compression', 'consumer-headers',
  'cors-ui', 'diagnostics', 'errors', 'event-stream', 'fault-matrix', 'limits', 'live', 'metrics',
  'metrics-histogram', 'object-shape', 'options', 'pubsub', 'range', 'readme', 'relay', 'request-log', 'reqres-authorize',
  'reqres-headers', 'routes', 'timeout', 'token-file', 'waiter-queue'
]

/** The unit project alone is `npm run test:unit` (jest.unit.config.ts). */
export const unit: Project = { ...common, displayName: 'unit', testMatch: UNIT.map(name => `<rootDir>/__tests__/${name}.test.ts`) }

const config: Config = {
  projects: [
    unit,
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', `/__tests__/(${UNIT.join('|')})\\.test\\.ts$`],
      // These suites spawn dist/ (the CLI) or pack it: rebuilt first whenever it is stale. Jest
      // runs a project's globalSetup only when a test of that project runs, so test:unit never builds.
      globalSetup: '<rootDir>/__tests__/helpers/build-dist.ts'
    }
  ],
  collectCoverageFrom: ['lib/**/*.ts'],
  testTimeout: 20000
}

export default config
