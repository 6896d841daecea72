/** One sample of a Prometheus text exposition: labels and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Samples of one metric from Prometheus text format (labels without escaped quotes suffice here). */
export function parsePrometheus(text: string, metric: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const braces = /^[^{ ]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!braces) continue;
    const labels: Record<string, string> = {};
    for (const m of (braces[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
    samples.push({ labels, value: Number(braces[2]) });
  }
  return samples;
}

export function sumBy(samples: Sample[], key: (s: Sample) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) out.set(key(s), (out.get(key(s)) ?? 0) + s.value);
  return out;
}

/** after − before, per key (counters only grow, so missing keys count as 0). */
export function difference(
  after: Map<string, number>,
  before: Map<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

export function total(counts: Map<string, number>): number {
  let sum = 0;
  for (const v of counts.values()) sum += v;
  return sum;
}
