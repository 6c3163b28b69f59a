import { describe, expect, it } from '@jest/globals'
import { errorEvent, frameEvent } from '../lib/event-stream'

describe('frameEvent(message)', () => {
  it.each([
    ['one line', 'hello', 'data: hello\n\n'],
    ['an empty message', '', 'data: \n\n'],
    ['LF, CRLF and CR line ends', 'a\nb\r\nc\rd', 'data: a\ndata: b\ndata: c\ndata: d\n\n'],
    ['a trailing line end', 'a\n', 'data: a\ndata: \n\n'],
    ['CR CRLF', 'a\r\r\nb', 'data: a\ndata: \ndata: b\n\n'],
    ['a long line between short ones', `x\n${'y'.repeat(100)}\nz`, `data: x\ndata: ${'y'.repeat(100)}\ndata: z\n\n`],
    ['UTF-8 text', 'café\n☕', 'data: café\ndata: ☕\n\n']
  ])('frames %s as data lines', (_, message, framed) => {
    expect(frameEvent(Buffer.from(message)).toString()).toBe(framed)
  })

  it('frames a megabyte of line feeds in one pass, as a million empty data lines', () => {
    const framed = frameEvent(Buffer.alloc(1024 * 1024, '\n'))
    expect(framed.length).toBe((1024 * 1024 + 1) * 'data: \n'.length + 1)
    expect(framed.equals(Buffer.from('data: \n'.repeat(1024 * 1024 + 1) + '\n'))).toBe(true)
  })

  it('frames an error event with the reason as its data', () => {
    expect(errorEvent(new Error('gone\naway')).toString()).toBe('event: error\ndata: gone\ndata: away\n\n')
  })
})
