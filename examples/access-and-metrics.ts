import express from 'express'
import { register } from 'prom-client'
import { httpipe, type HttpipeAuthorize } from 'httpipe'
import { httpipeMetrics } from 'httpipe/metrics'

interface User { readonly name: string, readonly teams: readonly string[] }
declare function authenticate (req: express.Request, res: express.Response, next: express.NextFunction): void

// #region authorize
// req.user is what an authentication middleware in front set (passport, express-jwt's req.auth, ...).
const authorize: HttpipeAuthorize = (req, { action, namespace }) => {
  const user = (req as typeof req & { user?: User }).user
  if (user === undefined) return { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="pipes"' } }
  if (action === 'delete') return user.teams.includes('admins')
  // Other teams' namespaces answer 404, as if they did not exist.
  return user.teams.includes(namespace) ? true : { status: 404 }
}

const app = express()
app.use('/channels', authenticate, httpipe({ authorize, listing: true }))
// #endregion authorize

// #region metrics
const pipe = httpipe()
httpipeMetrics(pipe)   // registers on prom-client's global registry
app.use('/pipes', pipe)
app.get('/metrics', async (_req, res) => {
  res.type(register.contentType).send(await register.metrics())
})
// #endregion metrics

// #region tracing
import { subscribe } from 'node:diagnostics_channel'
import type { HttpipeTransferEndMessage } from 'httpipe'

subscribe('httpipe:transfer:end', message => {
  const { mode, outcome, bytes, duration } = message as HttpipeTransferEndMessage
  console.log(`${mode} transfer ${outcome}: ${bytes} bytes in ${duration.toFixed(1)} ms`)
})
// #endregion tracing
