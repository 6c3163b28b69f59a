// #region mount
import express from 'express'
import { httpipe } from 'httpipe'

const pipe = httpipe({ timeout: 60_000, reqres: { jobTimeout: 30_000 } })
const app = express()
app.use('/channels', pipe)
// /req/{namespace}/{channel}[/{path}] and /res/{namespace}/{channel}; other paths go on
app.use(pipe.reqres)
const server = app.listen(3000)
server.requestTimeout = 0
// #endregion

// #region serve
import { serve } from 'httpipe'

const site = express().get('/', (_req, res) => { res.send('hello from behind NAT') })
const serving = serve('https://relay.example/res/demo/site', site, { workers: 8 })
// curl https://relay.example/req/demo/site/
process.on('SIGTERM', () => { serving.close().then(() => process.exit(0), () => process.exit(1)) })
// #endregion
