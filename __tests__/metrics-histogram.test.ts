import { describe, expect, it } from '@jest/globals'
import { Histogram, Registry } from 'prom-client'
import { TalliedHistogram } from '../lib/metrics-histogram'
import { WAIT_BUCKETS } from '../lib/metrics'

// TalliedHistogram keeps its own counts and answers prom-client's reads itself: what a registry
// prints and returns as JSON must be what prom-client's Histogram gives for the same observations.
describe('TalliedHistogram', () => {
  const observations: Array<[string, number]> = [
    ['producer', 0], ['consumer', 0.0004], ['producer', 0.001], ['producer', 0.0011], ['consumer', 2.5],
    ['subscriber', 7], ['producer', 3599.9], ['producer', 3600], ['consumer', 4000], ['producer', 1e-9]
  ]

  function both (): { ours: TalliedHistogram<'role'>, theirs: Histogram<'role'>, mine: Registry, reference: Registry } {
    const mine = new Registry()
    const reference = new Registry()
    const ours = new TalliedHistogram({ name: 'h_seconds', help: 'Help.', label: 'role', buckets: WAIT_BUCKETS, registers: [mine] })
    const theirs = new Histogram({ name: 'h_seconds', help: 'Help.', labelNames: ['role'] as const, buckets: [...WAIT_BUCKETS], registers: [reference] })
    return { ours, theirs, mine, reference }
  }

  it('reads as prom-client\'s Histogram with the same observations, as text and as JSON', async () => {
    const { ours, theirs, mine, reference } = both()
    // Tallies looked up in the order prom-client first sees each label, so the series line up.
    const tallies = { producer: ours.tally('producer'), consumer: ours.tally('consumer'), subscriber: ours.tally('subscriber') }
    expect(await mine.metrics()).toBe(await reference.metrics())
    for (const [role, value] of observations) {
      tallies[role as keyof typeof tallies].observe(value)
      theirs.observe({ role }, value)
    }
    expect(await mine.metrics()).toBe(await reference.metrics())
    expect(await mine.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON())
    expect(await mine.metrics()).toContain('h_seconds_bucket{le="0.001",role="producer"} 3\n')
  })

  it('shows a series only once observed, and resets with the registry', async () => {
    const { ours, theirs, mine, reference } = both()
    ours.tally('consumer')
    ours.tally('producer').observe(1)
    theirs.observe({ role: 'producer' }, 1)
    expect(await mine.metrics()).not.toContain('consumer')
    expect(await mine.metrics()).toBe(await reference.metrics())
    mine.resetMetrics()
    reference.resetMetrics()
    expect(await mine.metrics()).toBe(await reference.metrics())
    ours.tally('producer').observe(2)
    theirs.observe({ role: 'producer' }, 2)
    expect(await mine.metrics()).toBe(await reference.metrics())
  })
})
