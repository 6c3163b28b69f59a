'use strict'
// Reads a child process's memory, CPU time and open descriptors from /proc (Linux only).
const fs = require('node:fs')

function readRssBytes (pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

/** utime + stime in clock ticks (usually 10 ms each), summed over all threads. */
function readCpuTicks (pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
  // The command name (field 2) may contain spaces, so split after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

function countOpenFds (pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length
}

function readOpenFileLimits (pid = 'self') {
  const limits = fs.readFileSync(`/proc/${pid}/limits`, 'latin1')
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits)
  const parse = (value) => (value === 'unlimited' ? Infinity : Number(value))
  return match === null ? { soft: NaN, hard: NaN } : { soft: parse(match[1]), hard: parse(match[2]) }
}

/** Samples a process's RSS on an interval and keeps the peak. */
class RssSampler {
  constructor (pid, intervalMs = 100) {
    this.pid = pid
    this.peak = 0
    this.samples = 0
    this.error = null
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.sample()
  }

  sample () {
    try {
      this.peak = Math.max(this.peak, readRssBytes(this.pid))
      this.samples++
    } catch (err) {
      this.error = err
    }
  }

  stop () {
    clearInterval(this.timer)
    this.sample()
    if (this.error !== null) throw new Error(`RSS sampling failed: ${this.error.message}`)
    return this.peak
  }
}

module.exports = { readRssBytes, readCpuTicks, countOpenFds, readOpenFileLimits, RssSampler }
