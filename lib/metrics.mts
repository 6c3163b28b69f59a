export { httpipeMetrics, WAIT_BUCKETS, TRANSFER_BUCKETS } from './metrics.js'
export type * from './metrics.js'
