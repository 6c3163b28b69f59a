import { Histogram, type HistogramConfiguration, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client'

/** The observations of one label value: counts per bucket (not cumulative), their sum and count. */
export class Tally {
  readonly #bounds: readonly number[]
  /** One more than the bounds: the last counts what exceeds every bound (`+Inf` only). */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (bounds: readonly number[]) {
    this.#bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && !(value <= (bounds[i] as number))) i++
    ;(this.counts[i] as number)++
    this.sum += value
    this.count++
  }

  reset (): void {
    this.counts.fill(0)
    this.sum = 0
    this.count = 0
  }
}

/**
 * A prom-client histogram of one label whose observations are counted here, in plain numbers,
 * and handed to prom-client only when it is read (a scrape): prom-client's own `observe()` builds
 * and hashes a label object and keys each bucket by its bound as a string, about 1 µs a call, and
 * a pair makes three. It reads as prom-client's own would (the same samples, names and labels;
 * series in the order of their first {@link TalliedHistogram.tally}): __tests__/metrics-histogram.test.ts
 * compares them. Only httpipe observes it, through its tallies; a series shows once observed.
 */
export class TalliedHistogram<T extends string> extends Histogram<T> {
  readonly #name: string
  readonly #help: string
  readonly #label: T
  readonly #bounds: readonly number[]
  readonly #tallies = new Map<string, Tally>()

  /** `buckets`: ascending, as prom-client takes them. */
  constructor (configuration: { name: string, help: string, label: T, buckets: readonly number[], registers: NonNullable<HistogramConfiguration<T>['registers']> }) {
    const { name, help, label, buckets, registers } = configuration
    super({ name, help, labelNames: [label], buckets: [...buckets], registers })
    this.#name = name
    this.#help = help
    this.#label = label
    this.#bounds = buckets
  }

  /** Where observations with this label value go: look it up once, observe into it often. */
  tally (value: string): Tally {
    let tally = this.#tallies.get(value)
    if (tally === undefined) this.#tallies.set(value, tally = new Tally(this.#bounds))
    return tally
  }

  override async get (): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const values: Array<{ labels: Record<string, string | number>, value: number, metricName: string, exemplar?: null }> = []
    const bucket = `${this.#name}_bucket`
    for (const [value, tally] of this.#tallies) {
      if (tally.count === 0) continue
      const labels = { [this.#label]: value }
      let cumulative = 0
      this.#bounds.forEach((bound, i) => {
        cumulative += tally.counts[i] as number
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: bucket, exemplar: null })
      })
      values.push({ labels: { le: '+Inf', ...labels }, value: tally.count, metricName: bucket, exemplar: null })
      values.push({ labels, value: tally.sum, metricName: `${this.#name}_sum` })
      values.push({ labels, value: tally.count, metricName: `${this.#name}_count` })
    }
    // prom-client's own result has no `collect`, which its type lists.
    const result = { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' }
    return result as unknown as MetricObjectWithValues<MetricValueWithName<T>>
  }

  /** What prom-client's registry reads for its text format when a metric has it (as Histogram does). */
  async getForPromString (): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return await this.get()
  }

  override reset (): void {
    super.reset()
    // Also called by prom-client's constructor, before this class's fields exist.
    if (#tallies in this) for (const tally of this.#tallies.values()) tally.reset()
  }
}
