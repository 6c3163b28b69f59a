'use strict'
// Probe for the fanout scenario (key S7): S, holding 0.7 MB of small objects from its start, and
// nothing else: less than survives D's start (its module graph: 0.96 MB copied and 0.67 MB promoted
// in three scavenges, --trace-gc-nvp). V8 doubles its young generation once more bytes than its
// capacity have survived scavenges since it last grew, so S7's peak against S's is what that one
// doubling costs a server at start, whatever its code does under load.
const RETAINED_BYTES = 700 * 1024
const BYTES_PER_OBJECT = 64 // an object of three fields, a short string and its array slot

globalThis.retainedAtStart = Array.from({ length: RETAINED_BYTES / BYTES_PER_OBJECT }, (_, i) => ({ index: i, name: `n${i}`, next: null }))
require('./node-sse.js')
