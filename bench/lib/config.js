'use strict'
// Command-line flags and the two presets: full (default, about 16 minutes on 2 cores) and --quick (smoke test).

const path = require('node:path')

const ALL_SCENARIOS = ['bulk', 'pairs', 'waiters', 'slow-consumer', 'scale', 'fanout', 'deploy', 'observe', 'expose']

const FULL = {
  rounds: 3,
  bulkSize: 2 * 1024 ** 3,
  deployBulkSize: 512 * 1024 ** 2,
  verifySize: 64 * 1024 ** 2,
  pairsWarmup: 1,
  pairsDuration: 4,
  sliceMs: 250,
  concurrency: [1, 16, 128],
  waiters: 10000,
  slowSize: 1024 ** 3,
  slowRate: 50e6,
  scaleChannels: [1, 1000, 100000],
  scaleConcurrency: 16,
  scaleWarmup: 1,
  scaleDuration: 4,
  fanoutSubscribers: [1, 100, 5000],
  fanoutSizes: [1024, 1024 ** 2],
  fanoutWarmup: 1,
  fanoutDuration: 3
}

const QUICK = {
  rounds: 1,
  bulkSize: 128 * 1024 ** 2,
  deployBulkSize: 128 * 1024 ** 2,
  verifySize: 16 * 1024 ** 2,
  pairsWarmup: 0.3,
  pairsDuration: 0.7,
  sliceMs: 350,
  concurrency: [1, 16, 128],
  waiters: 1000,
  slowSize: 64 * 1024 ** 2,
  slowRate: 50e6,
  scaleChannels: [1, 1000, 100000],
  scaleConcurrency: 16,
  scaleWarmup: 0.3,
  scaleDuration: 0.7,
  fanoutSubscribers: [1, 100, 5000],
  fanoutSizes: [1024, 1024 ** 2],
  fanoutWarmup: 0.5,
  fanoutDuration: 1
}

const HELP = `Usage: node bench/run.js [flags]    (npm run bench -- [flags] builds dist/ first)

  --quick                   smoke-test preset (1 round, small sizes, short runs; under ~2 minutes)
  --rounds N                rounds of A B C D per measurement (full: 3)
  --servers LIST            comma list of A,B,C,D,S,E,O,P,Q,S7,D1 or node,express,httpipe-express,httpipe-cli,node-sse,
                            express-sse,httpipe-express-observed,httpipe-cli-observed,httpipe-cli-silent,node-sse-retaining,
                            httpipe-cli-semi1 (default all but S7 and D1;
                            S and E, the SSE fan-out baselines, run only in the fanout scenario, A and B never do;
                            O, P and Q only in the observe scenario; S7 and D1, memory probes for fanout, only when named)
  --scenarios LIST          comma list of ${ALL_SCENARIOS.join(',')} (default all)
  --bulk-size SIZE          bulk transfer size, e.g. 2GiB (full: 2GiB)
  --verify-size SIZE        sha256-verified transfer size (full: 64MiB)
  --pairs-warmup SECONDS    unmeasured warm-up before each pairs run (full: 1)
  --pairs-duration SECONDS  measured time of each pairs run (full: 4)
  --slice SECONDS           pairs and scale: warm-up and measured time are taken in slices of this
                            length, all servers running, each in turn (full: 0.25)
  --concurrency LIST        pair loops in parallel (full: 1,16,128)
  --waiters N               waiting consumers (full: 10000)
  --slow-size SIZE          slow-consumer transfer size (full: 1GiB)
  --slow-rate RATE          slow consumer read rate in bytes/s, e.g. 50MB (full: 50MB)
  --scale-channels LIST     distinct channel names to cycle through (full: 1,1000,100000)
  --scale-concurrency N     pair loops in the scale scenario (full: 16)
  --scale-warmup SECONDS    (full: 1)
  --scale-duration SECONDS  (full: 4)
  --fanout-subscribers LIST live subscribers per fanout run (full: 1,100,5000; the largest is also the stalled run)
  --fanout-sizes LIST       fanout message sizes (full: 1KiB,1MiB)
  --fanout-warmup SECONDS   unmeasured messages before each fanout run, at least one (full: 1)
  --fanout-duration SECONDS measured time of each fanout run, at least two messages (full: 3)
  --stall-timeout SECONDS   a request without a response for this long is an error (default 10)
  --port-base PORT          first port for servers; each server process gets the next free one (default 21000)
  --dist DIR                httpipe build to test (default ./dist)
  --httpipe-options JSON    options object passed to httpipe() in target C
  --cli-args "ARGS"         extra arguments for the httpipe CLI (target D), split on spaces
  --out DIR                 where latest.md and latest.json go (default bench/results)
  --help

SIZE accepts B, KB, MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024).`

const UNITS = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }

function parseSize (text, flag) {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(String(text).trim())
  const unit = match === null ? undefined : (match[2] === '' ? 'b' : match[2].toLowerCase())
  if (match === null || UNITS[unit] === undefined) throw new Error(`${flag}: cannot parse size ${JSON.stringify(text)}`)
  return Math.round(Number(match[1]) * UNITS[unit])
}

function parsePositiveNumber (text, flag) {
  const value = Number(text)
  if (!(value > 0)) throw new Error(`${flag}: expected a positive number, got ${JSON.stringify(text)}`)
  return value
}

function parseIntegerList (text, flag) {
  return String(text).split(',').map((item) => {
    const value = Number(item)
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag}: expected positive integers, got ${JSON.stringify(item)}`)
    return value
  })
}

const FLAGS = {
  '--rounds': (c, v, f) => { c.rounds = parseIntegerList(v, f)[0] },
  '--servers': (c, v) => { c.servers = v.split(',').filter(Boolean) },
  '--scenarios': (c, v, f) => {
    c.scenarios = v.split(',').filter(Boolean)
    for (const name of c.scenarios) if (!ALL_SCENARIOS.includes(name)) throw new Error(`${f}: unknown scenario ${name}`)
  },
  '--bulk-size': (c, v, f) => { c.bulkSize = parseSize(v, f) },
  '--verify-size': (c, v, f) => { c.verifySize = parseSize(v, f) },
  '--pairs-warmup': (c, v, f) => { c.pairsWarmup = Number(v); if (!(c.pairsWarmup >= 0)) throw new Error(`${f}: expected >= 0`) },
  '--pairs-duration': (c, v, f) => { c.pairsDuration = parsePositiveNumber(v, f) },
  '--slice': (c, v, f) => {
    c.sliceMs = parsePositiveNumber(v, f) * 1000
    // Between its slices a server's connections idle; Node closes idle ones after 5 s.
    if (c.sliceMs > 1000) throw new Error(`${f}: at most 1 second, so no server's connections idle into its keep-alive timeout`)
  },
  '--concurrency': (c, v, f) => { c.concurrency = parseIntegerList(v, f) },
  '--waiters': (c, v, f) => { c.waiters = parseIntegerList(v, f)[0] },
  '--slow-size': (c, v, f) => { c.slowSize = parseSize(v, f) },
  '--slow-rate': (c, v, f) => { c.slowRate = parseSize(v, f) },
  '--scale-channels': (c, v, f) => { c.scaleChannels = parseIntegerList(v, f) },
  '--scale-concurrency': (c, v, f) => { c.scaleConcurrency = parseIntegerList(v, f)[0] },
  '--scale-warmup': (c, v, f) => { c.scaleWarmup = Number(v); if (!(c.scaleWarmup >= 0)) throw new Error(`${f}: expected >= 0`) },
  '--scale-duration': (c, v, f) => { c.scaleDuration = parsePositiveNumber(v, f) },
  '--fanout-subscribers': (c, v, f) => { c.fanoutSubscribers = parseIntegerList(v, f) },
  '--fanout-sizes': (c, v, f) => { c.fanoutSizes = String(v).split(',').filter(Boolean).map((size) => parseSize(size, f)) },
  '--fanout-warmup': (c, v, f) => { c.fanoutWarmup = Number(v); if (!(c.fanoutWarmup >= 0)) throw new Error(`${f}: expected >= 0`) },
  '--fanout-duration': (c, v, f) => { c.fanoutDuration = parsePositiveNumber(v, f) },
  '--stall-timeout': (c, v, f) => { c.stallTimeoutMs = parsePositiveNumber(v, f) * 1000 },
  '--port-base': (c, v, f) => { c.portBase = parseIntegerList(v, f)[0] },
  '--dist': (c, v) => { c.dist = path.resolve(v) },
  '--httpipe-options': (c, v, f) => { JSON.parse(v); c.httpipeOptions = v },
  '--cli-args': (c, v) => { c.cliArgs = v.split(' ').filter(Boolean) },
  '--out': (c, v) => { c.outDir = path.resolve(v) }
}

function parseArgs (argv) {
  const quick = argv.includes('--quick')
  const config = {
    preset: quick ? 'quick' : 'full',
    ...(quick ? QUICK : FULL),
    servers: ['A', 'B', 'C', 'D', 'S', 'E', 'O', 'P', 'Q'],
    scenarios: ALL_SCENARIOS.slice(),
    stallTimeoutMs: 10000,
    readyTimeoutMs: 10000,
    portBase: 21000,
    dist: path.resolve(__dirname, '..', '..', 'dist'),
    httpipeOptions: undefined,
    cliArgs: [],
    outDir: path.resolve(__dirname, '..', 'results'),
    help: argv.includes('--help') || argv.includes('-h')
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--quick' || arg === '--help' || arg === '-h') continue
    const [flag, inlineValue] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const apply = FLAGS[flag]
    if (apply === undefined) throw new Error(`unknown flag ${flag} (see --help)`)
    const value = inlineValue !== undefined ? inlineValue : argv[++i]
    if (value === undefined) throw new Error(`${flag} needs a value`)
    apply(config, value, flag)
  }
  return config
}

module.exports = { parseArgs, parseSize, HELP, ALL_SCENARIOS }
