'use strict'
// The expose scenario's baseline: a minimal reverse proxy on node:http (one hop), forwarding
// every request to TARGET_PORT with a keep-alive agent and streaming both bodies.
const http = require('node:http')

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
const target = Number(process.env.TARGET_PORT)
const server = http.createServer((req, res) => {
  const upstream = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers)
    answer.pipe(res)
  })
  upstream.on('error', () => { res.destroy() })
  req.pipe(upstream)
})
server.listen(Number(process.env.PORT), '127.0.0.1')
