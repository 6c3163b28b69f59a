import { createServer } from 'node:http'
import { createHandler } from 'httpipe'

const pipe = createHandler({ timeout: 60_000 })

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  if (url.startsWith('/pipes/')) {
    req.url = url.slice('/pipes'.length)   // createHandler reads paths from the root
    pipe(req, res)
    return
  }
  res.writeHead(404).end()
})
server.requestTimeout = 0
server.listen(3000)
