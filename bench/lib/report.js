'use strict'
// Markdown tables (median over rounds, min–max, ratios to the baselines) and the raw JSON.

const fs = require('node:fs')
const os = require('node:os')
const { summarize } = require('./stats.js')
const { readOpenFileLimits } = require('./proc-stats.js')

function describeMachine () {
  let cpuModel = 'unknown'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'latin1'))
    if (match !== null) cpuModel = match[1].trim()
  } catch { /* not Linux: keep 'unknown' */ }
  return {
    cpuModel,
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    openFileLimit: readOpenFileLimits().soft,
    // Other work on the machine skews everything; the load at start tells readers whether there was any.
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2)))
  }
}

function formatNumber (value) {
  if (!Number.isFinite(value)) return '–'
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  if (value === 0) return '0'
  return String(Number(value.toPrecision(3)))
}

function formatRatio (target, baseline) {
  if (!Number.isFinite(target) || !Number.isFinite(baseline) || baseline === 0) return '–'
  return `${(target / baseline).toFixed(2)}×`
}

/** { value, cell } for one server, one variant, one metric, over all rounds. */
function aggregate (records, metric) {
  const measured = records.filter((record) => record.failure === null)
  const failed = records.length - measured.length
  const values = measured.map((record) => record.metrics[metric.key])
  const failedNote = failed > 0 ? ` [${failed} failed]` : ''
  if (records.length === 0) return { value: NaN, cell: 'n/a' }
  if (measured.length === 0) return { value: NaN, cell: 'failed' }
  if (metric.aggregate === 'sum') {
    const total = values.reduce((sum, value) => sum + value, 0)
    return { value: total, cell: formatNumber(total) + failedNote }
  }
  const summary = summarize(values)
  if (summary.count === 0) return { value: NaN, cell: '–' + failedNote }
  const range = summary.count > 1 ? ` (${formatNumber(summary.min)}–${formatNumber(summary.max)})` : ''
  return { value: summary.median, cell: formatNumber(summary.median) + range + failedNote }
}

function ratioColumns (servers) {
  const present = new Set(servers.filter((server) => server.missing === null).map((server) => server.key))
  const columns = []
  if (present.has('A')) for (const key of ['B', 'C', 'D']) if (present.has(key)) columns.push([key, 'A'])
  if (present.has('B') && present.has('C')) columns.push(['C', 'B'])
  if (present.has('S')) for (const key of ['C', 'D', 'S7', 'D1']) if (present.has(key)) columns.push([key, 'S'])
  if (present.has('E') && present.has('C')) columns.push(['C', 'E'])
  if (present.has('S') && present.has('E')) columns.push(['E', 'S'])
  return columns
}

function scenarioTable (scenario, variants, servers, results) {
  const ratios = ratioColumns(servers)
  const header = ['variant', 'metric', ...servers.map((server) => `${server.key} ${server.label}`), ...ratios.map(([t, b]) => `${t}/${b}`)]
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, index) => (index < 2 ? '---' : '---:')).join('|')}|`
  ]
  for (const variant of variants) {
    for (const metric of variant.metrics ?? scenario.metrics) {
      const byServer = {}
      const cells = servers.map((server) => {
        const records = results.filter((r) => r.scenario === scenario.id && r.variant === variant.id && r.server === server.key)
        const aggregated = aggregate(records, metric)
        byServer[server.key] = aggregated.value
        return aggregated.cell
      })
      const arrow = metric.better === 'higher' ? ' ↑' : metric.better === 'lower' ? ' ↓' : ''
      const ratioCells = ratios.map(([target, baseline]) =>
        metric.aggregate === 'sum' ? '' : formatRatio(byServer[target], byServer[baseline]))
      lines.push(`| ${[variant.label, metric.label + arrow, ...cells, ...ratioCells].join(' | ')} |`)
    }
  }
  return lines.join('\n')
}

function problemNotes (scenario, variants, results) {
  const notes = []
  for (const record of results) {
    if (record.scenario !== scenario.id) continue
    const variant = variants.find((v) => v.id === record.variant)
    const where = `${record.server}, round ${record.round}, ${variant ? variant.label : record.variant}`
    if (record.failure !== null) notes.push(`- failed (${where}): ${record.failure}`)
    else if (record.errorSamples.length > 0) notes.push(`- errors (${where}): ${record.errorSamples.join('; ')}`)
  }
  return notes
}

function renderMarkdown ({ machine, config, servers, scenarios, results, startedAt, finishedAt, serversOf = (_, all) => all }) {
  const minutes = ((finishedAt - startedAt) / 60000).toFixed(1)
  const out = [
    '# httpipe benchmark',
    '',
    `- machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, ${machine.platform}, Node ${machine.node}, ulimit -n ${machine.openFileLimit}, load average at start ${machine.loadAverageAtStart.join(' ')}`,
    `- run: preset ${config.preset}, ${config.rounds} round(s), started ${new Date(startedAt).toISOString()}, took ${minutes} min`,
    '- method: every measurement gets a fresh server process; for each variant the servers run back to back, ' +
      'the order rotated by round (A B C D, B C D A, ...), so drift hits all alike. pairs and scale: in each round all servers run at once and ' +
      `take their warm-up and measured time in ${config.sliceMs / 1000} s slices, in rotated turns. ` +
      'The load driver runs in the bench process on the same cores.',
    '- cells: median over rounds (min–max); ratios divide medians (X/A: against the node:http relay, C/B: against the Express relay; ' +
      'fanout: X/S against the node:http SSE fan-out, C/E against the Express one); ' +
      '↑ higher is better, ↓ lower is better; errors are summed over rounds.',
    ...servers.map((server) => `- ${server.key} = ${server.label} (${server.id})${server.missing === null ? '' : `: not run, ${server.missing}`}`),
    ''
  ]
  for (const scenario of scenarios) {
    const variants = scenario.variants(config)
    out.push(`## ${scenario.title}`, '', scenario.description, '', scenarioTable(scenario, variants, serversOf(scenario, servers), results), '')
    const notes = problemNotes(scenario, variants, results)
    if (notes.length > 0) out.push(...notes, '')
  }
  return out.join('\n')
}

function writeReport (report, markdown) {
  fs.mkdirSync(report.config.outDir, { recursive: true })
  const markdownPath = `${report.config.outDir}/latest.md`
  const jsonPath = `${report.config.outDir}/latest.json`
  fs.writeFileSync(markdownPath, markdown + '\n')
  const json = {
    machine: report.machine,
    config: report.config,
    startedAt: new Date(report.startedAt).toISOString(),
    finishedAt: new Date(report.finishedAt).toISOString(),
    servers: report.servers.map(({ key, id, label, missing }) => ({ key, id, label, missing })),
    results: report.results
  }
  fs.writeFileSync(jsonPath, JSON.stringify(json, (_, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2) + '\n')
  return { markdownPath, jsonPath }
}

module.exports = { describeMachine, renderMarkdown, writeReport, formatNumber }
