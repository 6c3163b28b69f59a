'use strict'
// Baseline S: a minimal server-sent-events fan-out on plain node:http, what one would write by hand
// (the fan-out itself is servers/sse-core.js, shared with E).
const http = require('node:http')
const { createFanOut } = require('./sse-core.js')

const fanOut = createFanOut()

const server = http.createServer((req, res) => {
  const query = req.url.indexOf('?')
  const path = query === -1 ? req.url : req.url.slice(0, query)
  if (!path.startsWith('/channels/')) {
    res.statusCode = 404
    return res.end()
  }
  if (req.method === 'GET') return fanOut.subscribe(path, res)
  if (req.method !== 'POST' && req.method !== 'PUT') {
    res.statusCode = 405
    return res.end()
  }
  fanOut.publish(path, req, res)
})
server.requestTimeout = 0
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1')
