'use strict'
// The SSE fan-out shared by both fan-out baselines, so that E differs from S only by Express.
// A GET with Accept: text/event-stream subscribes to a path; a POST reads the message whole,
// frames it once and writes that one Buffer to every subscriber, then answers 200 with
// X-Httpipe-Receivers. No limits, no backlog bounds, no slow-subscriber handling.

function frame (message) {
  const lines = message.toString('latin1').split(/\r\n|\r|\n/)
  return Buffer.from(lines.map((line) => `data: ${line}\n`).join('') + '\n', 'latin1')
}

function createFanOut () {
  const channels = new Map()

  function subscribe (path, res) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' })
    res.write(': ok\n\n')
    let subscribers = channels.get(path)
    if (subscribers === undefined) channels.set(path, subscribers = new Set())
    subscribers.add(res)
    res.once('close', () => {
      subscribers.delete(res)
      if (subscribers.size === 0 && channels.get(path) === subscribers) channels.delete(path)
    })
  }

  function publish (path, req, res) {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const event = frame(Buffer.concat(chunks))
      const subscribers = channels.get(path) || new Set()
      for (const subscriber of subscribers) subscriber.write(event)
      res.writeHead(200, { 'Content-Length': '0', 'X-Httpipe-Receivers': String(subscribers.size) }).end()
    })
  }

  return { subscribe, publish }
}

module.exports = { createFanOut }
