import express, { type ErrorRequestHandler } from 'express'
import { httpipe, type HttpipeError } from 'httpipe'

const app = express()
const pipe = httpipe({ timeout: 60_000, limits: { bodySize: 100 * 1024 * 1024 } })

app.use('/channels', pipe)   // first: a body parser would swallow the producer's body
app.use(express.json())
app.get('/health', (_req, res) => { res.json(pipe.stats()) })

// httpipe passes its errors to next(err); answer them as text/plain.
const onError: ErrorRequestHandler = (err: HttpipeError, _req, res, next) => {
  if (res.headersSent) return next(err)
  res.status(err.status ?? 500)
    .set(err.headers ?? {})
    .type('text/plain')
    .send(`${err.expose ? err.message : 'Internal Server Error'}\n`)
}
app.use(onError)

const server = app.listen(3000)
server.requestTimeout = 0   // Node's default (300 s) would cut off waiting producers

process.on('SIGTERM', () => {
  pipe.close().then(() => server.close(), () => {})
})
