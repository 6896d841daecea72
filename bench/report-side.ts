import type { ScaleResult } from './operator-scale.ts';
import { writesPerNode } from './requests.ts';
import { fmt, markdownTable } from './stats.ts';
import type { Results } from './report.ts';

export const load = (l: number[] | undefined) => (l ? l.map((x) => x.toFixed(1)).join(' / ') : '?');

/** Ours next to the peer command, per size, where a run had --peer. */
export function sideBySide(results: Results): string[] {
  const pairs = Object.entries(results.scale)
    .filter(([, r]) => r.peer && r.unlimited)
    .map(([n, r]) => [Number(n), r.unlimited!, r.peer!] as const)
    .sort((a, b) => a[0] - b[0]);
  if (pairs.length === 0) return [];
  const rows: [string, (x: ScaleResult) => string][] = [
    ['all nodes done (s)', (x) => fmt(x.convergeSeconds)],
    [
      'all installer Jobs Complete (s)',
      (x) => (x.jobsCompleteSeconds === undefined ? 'n/a' : fmt(x.jobsCompleteSeconds)),
    ],
    [
      'open sockets while converging, max / at the end',
      (x) => (x.sockets ? `${x.sockets.max} / ${x.sockets.converged}` : 'n/a'),
    ],
    ['operator CPU, start → done (s)', (x) => fmt(x.cpuSeconds)],
    [
      'RSS when ready / peak / idle (MiB)',
      (x) =>
        `${fmt(x.startRssMiB, 0)} / ${fmt(x.peakRssMiB, 0)} / ${x.steady ? fmt(x.steady.rssMiB, 0) : 'n/a'}`,
    ],
    [
      'idle CPU (s/min)',
      (x) => (x.steady ? fmt((x.steady.cpuSeconds * 60) / x.steady.seconds, 2) : 'n/a'),
    ],
    [
      'idle requests (dispatched/min)',
      (x) => (x.steady ? fmt((x.steady.requests.dispatched * 60) / x.steady.seconds, 1) : 'n/a'),
    ],
    ['operator writes per node', (x) => fmt(writesPerNode(x), 2)],
    ['load average start → done', (x) => `${load(x.load?.start)} → ${load(x.load?.converged)}`],
  ];
  return [
    markdownTable(
      [
        'Side by side (unlimited)',
        ...pairs.flatMap(([n, , p]) => [
          `ours, N = ${n.toLocaleString('en')}`,
          `${p.subject}, N = ${n.toLocaleString('en')}`,
        ]),
      ],
      rows.map(([what, cell]) => [what, ...pairs.flatMap(([, u, p]) => [cell(u), cell(p)])]),
    ),
  ];
}

export function reconcileCost(results: Results): string[] {
  const c = results.reconcileCost;
  if (!c) return [];
  return [
    markdownTable(
      ['Reconcile cost without the network', 'value', 'How'],
      [
        [
          'CPU per reconcile (µs)',
          fmt(c.cpuUsPerReconcile, 0),
          `bench/reconcile-cost.ts: a Manager over the in-memory FakeCluster installs ${c.nodes} opted-in nodes (Job created, finished with a valid report, recorded, deleted): ${c.reconciles} reconciles. Process CPU over the whole run divided by reconciles; logs silent.`,
        ],
        [
          'V8 heap allocated per reconcile (KiB)',
          fmt(c.allocatedBytesPerReconcile / 1024, 1),
          'Growth of the used heap between collections (v8.GCProfiler), summed over the run, divided by reconciles: everything allocated, kept or not.',
        ],
        ['Measured on', `${c.date}; ${c.machine}`, ''],
      ],
    ),
  ];
}
