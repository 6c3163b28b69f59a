'use strict'
// scale: pair throughput while cycling through many distinct channel names, to expose per-channel
// costs (creation, lookup, cleanup) that a fixed set of channels hides.

const { PairSession } = require('../lib/pair-loops.js')

function variant (config, channelCount) {
  return {
    id: `channels-${channelCount}`,
    label: `${channelCount.toLocaleString('en-US')} channel name${channelCount === 1 ? '' : 's'}, c=${config.scaleConcurrency}`,
    warmupMs: config.scaleWarmup * 1000,
    durationMs: config.scaleDuration * 1000,
    session: (server) => {
      let counter = 0
      return new PairSession({
        port: server.port,
        concurrency: config.scaleConcurrency,
        stallTimeoutMs: config.stallTimeoutMs,
        channelPrefix: 's',
        pickChannel: () => counter++ % channelCount,
        exclusiveChannels: false
      })
    }
  }
}

module.exports = {
  id: 'scale',
  title: 'scale: pairs cycling through N distinct channel names',
  description: 'Each pair uses the next name of N in turn (N = 1 means all loops share one channel). Same metrics and error rules as pairs.',
  metrics: [
    { key: 'pairsPerSec', label: 'pairs/s', better: 'higher' },
    { key: 'p99Ms', label: 'p99 ms', better: 'lower' },
    { key: 'errors', label: 'errors (sum)', aggregate: 'sum' }
  ],
  variants (config) {
    return config.scaleChannels.map((channelCount) => variant(config, channelCount))
  }
}
