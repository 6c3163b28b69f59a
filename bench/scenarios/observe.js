'use strict'
// observe: what access control and observability cost per message. Pairs at c=16 (own channel per
// loop, and one shared channel) against C (httpipe in Express) and E (the same with a synchronous
// allow-all `authorize` and httpipe/metrics), D (the CLI, request log on as by default), F (D with
// --auth, anonymous all, and --metrics) and G (D with --log-level silent). Measured in slices, all
// five at once, as pairs is: compare E/C and F/D (the goal: at least 0.95), and G/D for the log.

const pairs = require('./pairs.js')

module.exports = {
  id: 'observe',
  title: 'observe: pairs/s with authorize and metrics on (E, F) against off (C, D), and D without its request log (G)',
  description: 'As pairs (64-byte messages, c=16). E = C + authorize: () => true + httpipeMetrics(pipe); ' +
    'F = D + --auth (no tokens) --anonymous all --metrics; G = D --log-level silent. Ratios: E/C, F/D, G/D.',
  servers: ['C', 'E', 'D', 'F', 'G'],
  metrics: pairs.metrics,
  variants (config) {
    return pairs.variants({ ...config, concurrency: [16] })
  }
}
