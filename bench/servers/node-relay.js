'use strict'
// Baseline A: the relay on plain node:http.
const http = require('node:http')
const { createRelay } = require('./relay-core.js')

const PATH_PREFIX = '/channels/'
const relay = createRelay()

const server = http.createServer((req, res) => {
  const query = req.url.indexOf('?')
  const path = query === -1 ? req.url : req.url.slice(0, query)
  const slash = path.indexOf('/', PATH_PREFIX.length)
  const valid = path.startsWith(PATH_PREFIX) && slash > PATH_PREFIX.length && slash < path.length - 1 &&
    path.indexOf('/', slash + 1) === -1
  if (!valid) {
    res.statusCode = 404
    res.end('use /channels/{namespace}/{channel}')
  } else if (req.method === 'POST' || req.method === 'PUT') {
    relay.handle(path, 'producer', req, res)
  } else if (req.method === 'GET') {
    relay.handle(path, 'consumer', req, res)
  } else {
    res.statusCode = 405
    res.setHeader('Allow', 'GET, POST, PUT')
    res.end()
  }
})
// Same setting as the httpipe targets: long uploads must not hit node's 5-minute request timeout.
server.requestTimeout = 0
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1')
