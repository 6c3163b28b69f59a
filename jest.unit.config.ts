/**
 * @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}}
 */
import type { Config } from 'jest'
import config, { unit } from './jest.config'

// `npm run test:unit`: the unit project of jest.config.ts alone. A config of its own rather than
// `jest --selectProjects unit`, whose list would swallow the file names given after it
// (`npm run test:unit -- __tests__/relay.test.ts`).
// Every core: jest's default (cores - 1) runs a 2-core machine in band, one file after another.
const unitOnly: Config = { ...config, projects: [unit], maxWorkers: '100%' }

export default unitOnly
