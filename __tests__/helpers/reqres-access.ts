import createError from 'http-errors'

/** A denial as the router's authorize adapter (issue 13) passes it on: an http-errors 403. */
export function accessDeniedForTest (): Error {
  return createError(403, 'denied by the test', { type: 'access.denied' })
}
