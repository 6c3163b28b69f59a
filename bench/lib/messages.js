'use strict'
// Small messages that identify themselves: 16 hex digits of an id, then filler derived from the id.
// A receiver can check any message without keeping a copy of what was sent.

const MESSAGE_BYTES = 64
const ID_DIGITS = 16
const HEX = Buffer.from('0123456789abcdef', 'latin1')

function fillerByte (id, index) {
  return 0x61 + ((id + index * 7) % 26) // 'a'..'z'
}

function writeMessage (target, offset, id) {
  let rest = id
  for (let i = ID_DIGITS - 1; i >= 0; i--) {
    target[offset + i] = HEX[rest % 16]
    rest = Math.floor(rest / 16)
  }
  for (let i = ID_DIGITS; i < MESSAGE_BYTES; i++) target[offset + i] = fillerByte(id, i)
}

/** The message's id, or -1 when the bytes are not exactly a well-formed message. */
function readMessageId (body) {
  if (body === null || body.length !== MESSAGE_BYTES) return -1
  let id = 0
  for (let i = 0; i < ID_DIGITS; i++) {
    const byte = body[i]
    const digit = byte >= 48 && byte <= 57 ? byte - 48 : byte >= 97 && byte <= 102 ? byte - 87 : -1
    if (digit === -1) return -1
    id = id * 16 + digit
  }
  for (let i = ID_DIGITS; i < MESSAGE_BYTES; i++) if (body[i] !== fillerByte(id, i)) return -1
  return id
}

module.exports = { MESSAGE_BYTES, writeMessage, readMessageId }
