// Mounting httpipe in an existing Express app. Run: npx ts-node examples/mount-in-app.ts
import express, { type ErrorRequestHandler } from 'express'
import { httpipe } from '../lib'

const app = express()

// Before any body parser: httpipe streams the raw request body, a parser would swallow it.
const pipe = httpipe({ timeout: 10 * 60_000, limits: { bodySize: 1024 ** 3 } })
app.use('/channels', pipe)

app.use(express.json())
app.get('/health', (_req, res) => { res.json(pipe.stats()) })

// httpipe reports errors with next(err); this answers them as text/plain, as the standalone server does.
const errorHandler: ErrorRequestHandler = (err: { status?: number, expose?: boolean, message: string, headers?: Record<string, string> }, _req, res, next) => {
  if (res.headersSent) return next(err)
  res.status(err.status ?? 500).set(err.headers ?? {}).type('text/plain').send(`${err.expose === true ? err.message : 'Internal Server Error'}\n`)
}
app.use(errorHandler)

const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on http://localhost:${Number(process.env.PORT ?? 3000)}/channels`)
})
// A waiting producer has not finished sending its body; Node's default 300 s would cut it off.
server.requestTimeout = 0

process.on('SIGTERM', () => { pipe.close().then(() => server.close(), () => {}) })
