/** A node of a {@link WaiterQueue}; holding it is what makes removal O(1). */
export interface QueueNode<T> {
  readonly value: T
  /** @internal */ prev: QueueNode<T> | undefined
  /** @internal */ next: QueueNode<T> | undefined
  /** @internal */ queue: WaiterQueue<T> | undefined
}

/**
 * FIFO with O(1) push, shift and removal of any node. An array would make removing a departed
 * waiter O(n), and a Set's iteration order is not something to lean on for fairness.
 */
export class WaiterQueue<T> {
  #head: QueueNode<T> | undefined
  #tail: QueueNode<T> | undefined
  #size = 0

  get size (): number {
    return this.#size
  }

  push (value: T): QueueNode<T> {
    const node: QueueNode<T> = { value, prev: this.#tail, next: undefined, queue: this }
    if (this.#tail === undefined) this.#head = node
    else this.#tail.next = node
    this.#tail = node
    this.#size++
    return node
  }

  shift (): T | undefined {
    const node = this.#head
    if (node === undefined) return undefined
    this.remove(node)
    return node.value
  }

  /** Whether the node is still in this queue (not shifted or removed yet). */
  holds (node: QueueNode<T>): boolean {
    return node.queue === this
  }

  /** Returns `false` when the node is no longer in this queue (already shifted or removed). */
  remove (node: QueueNode<T>): boolean {
    if (!this.holds(node)) return false
    if (node.prev === undefined) this.#head = node.next
    else node.prev.next = node.next
    if (node.next === undefined) this.#tail = node.prev
    else node.next.prev = node.prev
    node.prev = node.next = node.queue = undefined
    this.#size--
    return true
  }

  /** Returns every value in order, removing those `keep` turns down (all of them without it). */
  sweep (keep?: (value: T) => boolean): T[] {
    const values: T[] = []
    for (let node = this.#head; node !== undefined;) {
      const next = node.next
      values.push(node.value)
      if (keep?.(node.value) !== true) this.remove(node)
      node = next
    }
    return values
  }

  /** Empties the queue, returning its values in order. */
  clear (): T[] {
    const values: T[] = []
    while (this.#head !== undefined) {
      values.push(this.#head.value)
      this.remove(this.#head)
    }
    return values
  }
}
