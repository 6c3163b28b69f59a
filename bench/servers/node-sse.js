'use strict'
// Baseline S: a minimal server-sent-events fan-out on plain node:http, what one would write by hand.
// GET with Accept: text/event-stream subscribes to a channel; POST ?pubsub=true reads the message
// whole, frames it once and writes that one Buffer to every subscriber, then answers 200 with
// X-Httpipe-Receivers. No limits, no backlog bounds, no slow-subscriber handling.
const http = require('node:http')

const channels = new Map()

function frame (message) {
  const lines = message.toString('latin1').split(/\r\n|\r|\n/)
  return Buffer.from(lines.map((line) => `data: ${line}\n`).join('') + '\n', 'latin1')
}

const server = http.createServer((req, res) => {
  const query = req.url.indexOf('?')
  const path = query === -1 ? req.url : req.url.slice(0, query)
  if (!path.startsWith('/channels/')) {
    res.statusCode = 404
    return res.end()
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' })
    res.write(': ok\n\n')
    let subscribers = channels.get(path)
    if (subscribers === undefined) channels.set(path, subscribers = new Set())
    subscribers.add(res)
    res.once('close', () => {
      subscribers.delete(res)
      if (subscribers.size === 0 && channels.get(path) === subscribers) channels.delete(path)
    })
    return
  }
  if (req.method !== 'POST' && req.method !== 'PUT') {
    res.statusCode = 405
    return res.end()
  }
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const event = frame(Buffer.concat(chunks))
    const subscribers = channels.get(path) || new Set()
    for (const subscriber of subscribers) subscriber.write(event)
    res.writeHead(200, { 'Content-Length': '0', 'X-Httpipe-Receivers': String(subscribers.size) }).end()
  })
})
server.requestTimeout = 0
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1')
