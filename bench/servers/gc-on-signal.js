'use strict'
// Preloaded into every server under test (with --expose-gc): SIGUSR2 runs a full GC, so the
// bench reads RSS after garbage is collected and memory numbers reflect what is retained.
if (typeof global.gc === 'function') process.on('SIGUSR2', () => global.gc())
