/** Prometheus text format to `{ 'name{labels}': value }`, comments dropped. */
export function parseMetrics (text: string): Record<string, number> {
  const values: Record<string, number> = {}
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    values[line.slice(0, at)] = Number(line.slice(at + 1))
  }
  return values
}
