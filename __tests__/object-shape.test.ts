import { describe, expect, it } from '@jest/globals'
import { normalizeIfReprototyped } from '../lib/object-shape'
import { hasFastProperties } from './helpers/v8'

class Message {
  readonly id = 1
  label = 'a'
}

function reprototyped (): Message {
  const message = new Message()
  Object.setPrototypeOf(message, Object.create(Message.prototype, { extra: { value: () => 'from the new prototype' } }))
  message.label = 'b'
  return message
}

function ownEntries (object: object): unknown[] {
  return Reflect.ownKeys(object).map(key => [key, Reflect.getOwnPropertyDescriptor(object, key)])
}

describe('normalizeIfReprototyped', () => {
  it('puts a re-prototyped object into dictionary mode, its properties and prototype unchanged', () => {
    const message = reprototyped()
    const prototype = Object.getPrototypeOf(message) as object
    const before = ownEntries(message)
    expect(hasFastProperties(message)).toBe(true)

    normalizeIfReprototyped(message)

    expect(hasFastProperties(message)).toBe(false)
    expect(ownEntries(message)).toEqual(before)
    expect(Object.getPrototypeOf(message)).toBe(prototype)
    expect((message as unknown as { extra: () => string }).extra()).toBe('from the new prototype')
  })

  it('leaves an object with its constructor\'s prototype alone', () => {
    const message = new Message()
    normalizeIfReprototyped(message)
    expect(hasFastProperties(message)).toBe(true)
    expect(ownEntries(message)).toEqual(ownEntries(new Message()))
  })

  it('never throws: a frozen object, or a Proxy that refuses properties, is left as it is', () => {
    const frozen = Object.freeze(reprototyped())
    expect(() => { normalizeIfReprototyped(frozen) }).not.toThrow()
    expect(hasFastProperties(frozen)).toBe(true)

    const refusing = new Proxy(reprototyped(), {
      set () { throw new Error('no new properties') },
      defineProperty () { throw new Error('no new properties') }
    })
    expect(() => { normalizeIfReprototyped(refusing) }).not.toThrow()
    expect(Reflect.ownKeys(refusing)).toEqual(['id', 'label'])
  })

  it('leaves a plain object alone, and one without a constructor', () => {
    const plain = { a: 1 }
    normalizeIfReprototyped(plain)
    expect(hasFastProperties(plain)).toBe(true)
    const bare = Object.assign(Object.create(null) as object, { a: 1 })
    expect(() => { normalizeIfReprototyped(bare) }).not.toThrow()
    expect(Reflect.ownKeys(bare)).toEqual(['a'])
  })
})
