// Reading the values of command-line flags: each parser throws an Error naming the flag and
// saying what was wrong with the value.

// setTimeout()'s limit (options.ts), in whole seconds.
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

export function oneOf<T extends string> (flag: string, value: string, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T
  throw new Error(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
}

/**
 * parseArgs reads the `-1` of `--port -1` as a short flag ("argument is ambiguous"); joined into
 * `--port=-1`, a negative value reaches the range check and its message names the flag.
 */
export function joinNegativeValues (argv: readonly string[], valueFlags: readonly string[]): string[] {
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const value = argv[i + 1]
    if (valueFlags.includes(arg) && value !== undefined && /^-[\d.]/.test(value)) {
      args.push(`${arg}=${value}`)
      i++
    } else {
      args.push(arg)
    }
  }
  return args
}

export function withoutUndefined<T extends object> (object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T
}

export function integer (name: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return value
}

export function optional<T> (text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text)
}

/** Seconds, fractions allowed, to ms; `0` means none (undefined), unless refused. */
export function seconds (name: string, text: string, { zero = 'none' }: { zero?: 'none' | 'refused' } = {}): number | undefined {
  const value = Number(text)
  const min = zero === 'none' ? 0 : Number.MIN_VALUE
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > MAX_TIMEOUT_SECONDS) {
    const range = zero === 'none' ? `from 0 to ${MAX_TIMEOUT_SECONDS} (0 for none)` : `above 0, up to ${MAX_TIMEOUT_SECONDS}`
    throw new Error(`${name} must be a number of seconds ${range}, got ${JSON.stringify(text)}`)
  }
  // A positive value below a millisecond still means "a timeout", not "none".
  return value === 0 ? undefined : Math.max(1, Math.round(value * 1000))
}
