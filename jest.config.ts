import type { Config } from 'jest'

const config: Config = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  transform: {
    // TS151002 only warns that nodenext prefers isolatedModules; silencing it keeps type-checking on.
    '^.+\\.ts$': ['ts-jest', { diagnostics: { ignoreCodes: [151002] } }]
  },
  collectCoverageFrom: ['lib/**/*.ts'],
  testTimeout: 20000
}

export default config
