'use strict'
// The local server of the expose scenario: what a development server answers for a small asset
// (1 KiB, Content-Length, keep-alive). PORT from the environment.
const http = require('node:http')

const body = Buffer.alloc(1024, 'a')
const server = http.createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
  res.end(req.method === 'HEAD' ? undefined : body)
})
server.listen(Number(process.env.PORT), '127.0.0.1')
