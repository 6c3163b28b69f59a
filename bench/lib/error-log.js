'use strict'
// Counts errors and keeps a bounded sample of distinct messages, so reports can say what went wrong.

const MAX_DISTINCT_MESSAGES = 20

class ErrorLog {
  constructor () {
    this.count = 0
    this.byMessage = new Map()
    this.unlistedCount = 0
  }

  add (message, times = 1) {
    this.count += times
    if (this.byMessage.has(message)) this.byMessage.set(message, this.byMessage.get(message) + times)
    else if (this.byMessage.size < MAX_DISTINCT_MESSAGES) this.byMessage.set(message, times)
    else this.unlistedCount += times
  }

  samples () {
    const listed = [...this.byMessage].map(([message, count]) => `${count}× ${message}`)
    if (this.unlistedCount > 0) listed.push(`${this.unlistedCount}× (other messages)`)
    return listed
  }
}

module.exports = { ErrorLog }
