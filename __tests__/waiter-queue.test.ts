import { describe, expect, it } from '@jest/globals'
import { WaiterQueue } from '../lib/waiter-queue'

/** Empties a queue with shift(), returning what came out in order. */
function drain<T> (queue: WaiterQueue<T>): T[] {
  const values: T[] = []
  while (queue.size > 0) values.push(queue.shift() as T)
  return values
}

describe('WaiterQueue', () => {
  describe('a new queue', () => {
    it('is empty', () => {
      expect(new WaiterQueue().size).toBe(0)
    })

    it('shifts undefined', () => {
      expect(new WaiterQueue<string>().shift()).toBeUndefined()
    })

    it('clears to an empty array', () => {
      expect(new WaiterQueue<string>().clear()).toStrictEqual([])
    })
  })

  describe('push(value)', () => {
    it('counts each value', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      queue.push('b')
      expect(queue.size).toBe(2)
    })

    it('returns a node holding the value', () => {
      const value = { id: 1 }
      expect(new WaiterQueue<{ id: number }>().push(value).value).toBe(value)
    })

    it('accepts the same value twice as two entries', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      queue.push('a')
      expect(drain(queue)).toStrictEqual(['a', 'a'])
    })
  })

  describe('shift()', () => {
    it('returns values in arrival order', () => {
      const queue = new WaiterQueue<number>()
      for (let i = 0; i < 5; i++) queue.push(i)
      expect(drain(queue)).toStrictEqual([0, 1, 2, 3, 4])
    })

    it('keeps order when pushes and shifts interleave', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      queue.push('b')
      expect(queue.shift()).toBe('a')
      queue.push('c')
      expect(queue.shift()).toBe('b')
      expect(queue.shift()).toBe('c')
      expect(queue.shift()).toBeUndefined()
      queue.push('d')
      expect(drain(queue)).toStrictEqual(['d'])
    })

    it('decrements the size', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      queue.push('b')
      queue.shift()
      expect(queue.size).toBe(1)
    })
  })

  describe('remove(node)', () => {
    it('removes the head', () => {
      const queue = new WaiterQueue<string>()
      const a = queue.push('a')
      queue.push('b')
      queue.push('c')
      expect(queue.remove(a)).toBe(true)
      expect(queue.size).toBe(2)
      expect(drain(queue)).toStrictEqual(['b', 'c'])
    })

    it('removes a node in the middle', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      const b = queue.push('b')
      queue.push('c')
      expect(queue.remove(b)).toBe(true)
      expect(drain(queue)).toStrictEqual(['a', 'c'])
    })

    it('removes the tail, and later pushes go after the new tail', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      queue.push('b')
      const c = queue.push('c')
      expect(queue.remove(c)).toBe(true)
      queue.push('d')
      expect(drain(queue)).toStrictEqual(['a', 'b', 'd'])
    })

    it('removes the only node, leaving a usable empty queue', () => {
      const queue = new WaiterQueue<string>()
      const a = queue.push('a')
      expect(queue.remove(a)).toBe(true)
      expect(queue.size).toBe(0)
      expect(queue.shift()).toBeUndefined()
      queue.push('b')
      queue.push('c')
      expect(drain(queue)).toStrictEqual(['b', 'c'])
    })

    it('removes every node in any order', () => {
      const queue = new WaiterQueue<number>()
      const nodes = [0, 1, 2, 3, 4, 5].map(i => queue.push(i))
      for (const i of [3, 0, 5, 1]) expect(queue.remove(nodes[i] as typeof nodes[number])).toBe(true)
      expect(drain(queue)).toStrictEqual([2, 4])
    })

    it('returns false the second time, without changing the size', () => {
      const queue = new WaiterQueue<string>()
      const a = queue.push('a')
      queue.push('b')
      expect(queue.remove(a)).toBe(true)
      expect(queue.remove(a)).toBe(false)
      expect(queue.size).toBe(1)
      expect(drain(queue)).toStrictEqual(['b'])
    })

    it('returns false for a node already shifted', () => {
      const queue = new WaiterQueue<string>()
      const a = queue.push('a')
      queue.push('b')
      queue.shift()
      expect(queue.remove(a)).toBe(false)
      expect(queue.size).toBe(1)
      expect(drain(queue)).toStrictEqual(['b'])
    })

    it('returns false for a node already cleared', () => {
      const queue = new WaiterQueue<string>()
      const a = queue.push('a')
      queue.clear()
      expect(queue.remove(a)).toBe(false)
      expect(queue.size).toBe(0)
    })

    it('returns false for a node of another queue, and leaves both queues intact', () => {
      const one = new WaiterQueue<string>()
      const other = new WaiterQueue<string>()
      one.push('a')
      const b = other.push('b')
      expect(one.remove(b)).toBe(false)
      expect(drain(one)).toStrictEqual(['a'])
      expect(drain(other)).toStrictEqual(['b'])
    })
  })

  describe('clear()', () => {
    it('returns the values in order and empties the queue', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      const b = queue.push('b')
      queue.push('c')
      queue.push('d')
      queue.remove(b)
      expect(queue.clear()).toStrictEqual(['a', 'c', 'd'])
      expect(queue.size).toBe(0)
      expect(queue.shift()).toBeUndefined()
    })

    it('leaves a queue that works again', () => {
      const queue = new WaiterQueue<string>()
      queue.push('a')
      queue.clear()
      queue.push('b')
      expect(queue.size).toBe(1)
      expect(drain(queue)).toStrictEqual(['b'])
    })
  })
})
