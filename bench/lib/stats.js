'use strict'
// Small statistics helpers: medians over rounds, percentiles over per-request latencies.

function sortedCopy (values) {
  return Float64Array.from(values).sort()
}

function median (values) {
  if (values.length === 0) return NaN
  const sorted = sortedCopy(values)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Nearest-rank percentile of an already sorted array; q in [0, 1]. */
function percentileOfSorted (sorted, q) {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

function summarize (values) {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, count: 0 }
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), count: finite.length }
}

/** Growable Float64Array so that recording a latency allocates nothing in the steady state. */
class LatencyRecorder {
  constructor (initialCapacity = 1 << 16) {
    this.values = new Float64Array(initialCapacity)
    this.count = 0
  }

  record (value) {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.count++] = value
  }

  percentiles (qs) {
    const sorted = this.values.slice(0, this.count).sort()
    return qs.map((q) => percentileOfSorted(sorted, q))
  }
}

module.exports = { median, percentileOfSorted, summarize, LatencyRecorder }
