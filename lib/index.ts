export { httpipe, type HttpipeMiddleware } from './router'
export { createHandler, type HttpipeHandler } from './handler'
export type { HttpipeControls, HttpipeStats, TransferProgress } from './core'
export type { HttpipeOptions, HttpipeLimits } from './options'
export type { HttpipeAccess, HttpipeAction, HttpipeAuthorize, HttpipeDenial, HttpipeVerdict } from './authorize'
export type { HttpipeError, HttpipeErrorType } from './errors'
export { serve, type ServeOptions, type Serving } from './serve'
export type { ReqResOptions } from './reqres-options'
export type { ReqResStats } from './reqres-mode'
export { consumeQueryParameter } from './query-credentials'
export { httpipe as default } from './router'
export type {
  RequestRoutedMessage as HttpipeRequestRoutedMessage,
  RequestErrorMessage as HttpipeRequestErrorMessage,
  WaitStartMessage as HttpipeWaitStartMessage,
  TransferStartMessage as HttpipeTransferStartMessage,
  TransferEndMessage as HttpipeTransferEndMessage,
  LiveStartMessage as HttpipeLiveStartMessage
} from './diagnostics'
