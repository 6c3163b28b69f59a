// The import forms README's API section shows, checked here by `npm run typecheck`.
// #region api
import httpipe, { createHandler, type HttpipeOptions } from 'httpipe'

const options: HttpipeOptions = { timeout: 60_000 }
const middleware = httpipe(options)     // for app.use('/channels', middleware)
const listener = createHandler(options) // for http.createServer(listener)
// #endregion api

export { middleware, listener }
