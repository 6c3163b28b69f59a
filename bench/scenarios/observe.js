'use strict'
// observe: what access control and observability cost per message. Pairs at c=16 (own channel per
// loop, and one shared channel) against C (httpipe in Express) and O (the same with a synchronous
// allow-all `authorize` and httpipe/metrics), D (the CLI, request log on as by default), P (D with
// --auth, anonymous all, and --metrics) and Q (D with --log-level silent). Measured in slices, all
// five at once, as pairs is: compare O/C and P/D (the goal: at least 0.95), and Q/D for the log.
// (E is the fanout scenario's Express SSE baseline.)

const pairs = require('./pairs.js')

module.exports = {
  id: 'observe',
  title: 'observe: pairs/s with authorize and metrics on (O, P) against off (C, D), and D without its request log (Q)',
  description: 'As pairs (64-byte messages, c=16). O = C + authorize: () => true + httpipeMetrics(pipe); ' +
    'P = D + --auth (no tokens) --anonymous all --metrics; Q = D --log-level silent. Ratios: O/C, P/D, Q/D.',
  servers: ['C', 'O', 'D', 'P', 'Q'],
  metrics: pairs.metrics,
  variants (config) {
    return pairs.variants({ ...config, concurrency: [16] })
  }
}
