import type { InstallerSample } from './installer-cost.ts';
import type { RequestCounts, ScaleResult } from './operator-scale.ts';
import { writesPerNode } from './requests.ts';
import type { ReconcileCost } from './reconcile-cost.ts';
import { load, reconcileCost, sideBySide } from './report-side.ts';
import { fmt, markdownTable, percentile } from './stats.ts';

/** Everything measured so far; each `npm run bench` replaces the entries it re-measured. */
export interface Results {
  /** By node count. */
  scale: Record<
    string,
    {
      date: string;
      machine: string;
      unlimited?: ScaleResult;
      tenPercent?: ScaleResult;
      /** The same as `unlimited` with whole Node objects listed and watched. */
      fullWatch?: ScaleResult;
      /** The same as `unlimited` with the operator in a memory cgroup (`--memory-limit`). */
      limited?: ScaleResult | { memoryLimitMiB: number; failed: string };
      /** Another operator command on the same setup (`--peer`). */
      peer?: ScaleResult;
    }
  >;
  reconcileCost?: ReconcileCost & { date: string; machine: string };
  installer?: { date: string; machine: string; samples: InstallerSample[] };
  nodeJsonBytes?: number;
}

const perNode = (counts: Record<string, number>, nodes: number): string =>
  Object.entries(counts)
    .map(([verb, n]) => `${verb} ${fmt(n / nodes, 2)}`)
    .join(', ') || '0';

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const perMinute = (counts: Record<string, number>, seconds: number): string =>
  Object.entries(counts)
    .map(([verb, n]) => `${verb} ${fmt((n * 60) / seconds, 1)}`)
    .join(', ') || '0';

function crossCheck(r: RequestCounts, nodes: number): string {
  return `apiserver−bench: ${perNode(r.apiserverMinusBench, nodes)}; FlowSchema dispatched ${r.dispatched} vs client ${sum(r.client)}`;
}

/** A cell from an optional run: 'not run' when the run is missing. */
const cellOf =
  <R>(pick: (r: Results['scale'][string]) => R | undefined, show: (x: R, n: number) => string) =>
  (r: Results['scale'][string], n: number) => {
    const x = pick(r);
    return x === undefined ? 'not run' : show(x, n);
  };
const unlimited = <T>(show: (x: ScaleResult, n: number) => T & string) =>
  cellOf((r) => r.unlimited, show);
const tenPercent = (show: (x: ScaleResult, n: number) => string) =>
  cellOf((r) => r.tenPercent, show);

/** The fastest client stack's write rate (the apiserver's limit), and the rollout's floor. */
function floor(r: ScaleResult): { rate: number; seconds: number } | undefined {
  const best = Math.max(...(r.rawWrites ?? []).map((w) => w.perSecond));
  if (!Number.isFinite(best) || !r.requests.allWrites) return undefined;
  return { rate: best, seconds: r.requests.allWrites / best };
}

function steady(u: ScaleResult): string {
  const s = u.steady;
  if (!s) return 'n/a';
  return `CPU ${fmt((s.cpuSeconds * 60) / s.seconds, 2)} s/min; ${perMinute(s.requests.client, s.seconds)} (dispatched ${fmt((s.requests.dispatched * 60) / s.seconds, 1)}/min, over ${s.seconds} s)`;
}

export function renderMarkdown(results: Results): string {
  const sizes = Object.keys(results.scale)
    .map(Number)
    .sort((a, b) => a - b);
  const runs = sizes.map((n) => results.scale[String(n)]!);
  const row = (
    what: string,
    how: string,
    cell: (r: (typeof runs)[number], n: number) => string,
  ) => [what, ...runs.map((r, i) => cell(r, sizes[i]!)), how];
  const scaleTable = markdownTable(
    ['Measured', ...sizes.map((n) => `N = ${n.toLocaleString('en')}`), 'How'],
    [
      row(
        'Time until all N nodes are labelled ready, maxConcurrentInstalls unlimited (s)',
        'Fresh control plane, N nodes created first; clock starts when the bench sends the first of N opt-in annotation patches (32 in flight) and stops when its watch on `wasm-node.dev/status=ready` has seen all N. "Unlimited" is `100%`.',
        unlimited((u) => fmt(u.convergeSeconds)),
      ),
      row(
        'Raw-write floor of that rollout (s), and the time above ÷ floor',
        'All writes the apiserver served during the rollout (operator, simulated kubelet, opt-ins; `apiserver_request_total`) divided by the fastest raw write rate measured in the same cluster (the rows below).',
        unlimited((u) => {
          const f = floor(u);
          return f
            ? `${fmt(f.seconds)} (${fmt(u.requests.allWrites! / u.nodes, 2)} writes/node at ${fmt(f.rate, 0)}/s); ×${fmt(u.convergeSeconds / f.seconds, 2)}`
            : 'n/a';
        }),
      ),
      row(
        'Same, maxConcurrentInstalls 10% (s)',
        'As above, separate fresh control plane, `maxConcurrentInstalls: 10%`.',
        tenPercent((t) => fmt(t.convergeSeconds)),
      ),
      row(
        'Operator RSS once its caches are synced, before any opt-in (MiB)',
        '`VmRSS` of the operator process when /readyz first answers 200, N (+ probe) nodes already exist.',
        unlimited((u) => fmt(u.startRssMiB, 0)),
      ),
      row(
        'V8 heap used / heap total / external, when ready → when all ready, unlimited (MiB)',
        "The operator's own `nodejs_heap_size_used_bytes`, `nodejs_heap_size_total_bytes` and `nodejs_external_memory_bytes`: what of the RSS is JavaScript objects, and what V8 has reserved for them.",
        unlimited((u) => {
          const h = u.heap;
          const f = (x: { usedMiB: number; totalMiB: number; externalMiB: number }) =>
            `${fmt(x.usedMiB, 0)} / ${fmt(x.totalMiB, 0)} / ${fmt(x.externalMiB, 0)}`;
          return h ? `${f(h.ready)} → ${f(h.converged)}` : 'n/a';
        }),
      ),
      row(
        'Operator RSS once ready again after a restart, all N nodes managed (MiB)',
        'The "unlimited" run, at its end: the operator is stopped and started again. It now also lists and watches the status (Ready, boot id) of every node it manages as whole Nodes, in pages of 100, slimmed as they arrive. The difference to the row above is that cost.',
        unlimited((u) => (u.restartRssMiB === undefined ? 'n/a' : fmt(u.restartRssMiB, 0))),
      ),
      row(
        'Operator peak RSS, unlimited / 10% (MiB)',
        '`VmHWM` from /proc/<pid>/status when all N are ready.',
        (r, n) =>
          `${unlimited((u) => fmt(u.peakRssMiB, 0))(r, n)} / ${tenPercent((t) => fmt(t.peakRssMiB, 0))(r, n)}`,
      ),
      row(
        'Operator RSS idle after convergence (MiB)',
        '`VmRSS` at the end of the steady-state window below.',
        unlimited((u) => (u.steady ? fmt(u.steady.rssMiB, 0) : 'n/a')),
      ),
      row(
        'Operator CPU, process start → all ready, unlimited / 10% (s)',
        '`utime + stime` from /proc/<pid>/stat (USER_HZ 100).',
        (r, n) =>
          `${unlimited((u) => fmt(u.cpuSeconds))(r, n)} / ${tenPercent((t) => fmt(t.cpuSeconds))(r, n)}`,
      ),
      row(
        'Bench process CPU, first opt-in → all ready, unlimited (s)',
        'The simulated kubelet, the opt-in patches and the watches run in the bench process: if this approached the elapsed time, the bench, not the operator, would set the pace.',
        unlimited((u) =>
          u.benchCpuSeconds === undefined
            ? 'n/a'
            : `${fmt(u.benchCpuSeconds)} of ${fmt(u.convergeSeconds)} elapsed`,
        ),
      ),
      row(
        'Operator CPU per reconcile, unlimited (µs), and reconciles per node',
        'CPU from the first opt-in to all ready divided by `wasm_node_operator_reconcile_total` in that window: everything the process did (watch events, requests, logs) per reconcile.',
        unlimited((u) =>
          u.reconciles && u.reconciles.count > 0
            ? `${fmt((u.reconciles.cpuSeconds * 1e6) / u.reconciles.count, 0)}; ${fmt(u.reconciles.count / u.nodes, 2)}`
            : 'n/a',
        ),
      ),
      row(
        'Operator writes per node, unlimited',
        "Write verbs (POST, PUT, PATCH, APPLY, DELETE) of `apiserver_request_total` minus the bench's own, process start → all ready, divided by N.",
        unlimited((u) => fmt(writesPerNode(u), 2)),
      ),
      row(
        'API requests per node by verb, unlimited / 10% (operator counter)',
        'Operator-side `wasm_node_operator_api_requests_total` (every request classified like apiserver_request_total), process start → all ready, divided by N. WATCH/LIST include the initial list and watches.',
        (r, n) =>
          `${unlimited((u) => perNode(u.requests.client, u.nodes))(r, n)}; 10%: ${tenPercent((t) => perNode(t.requests.client, t.nodes))(r, n)}`,
      ),
      row(
        'Cross-check on the apiserver, unlimited',
        "Growth of `apiserver_request_total` (resource requests) minus the bench's own requests (counted client-side in the bench), per node; and `apiserver_flowcontrol_dispatched_requests_total` of a FlowSchema matching only the operator's ServiceAccount, vs the operator's total. apiserver_request_total has no user or user-agent label and counts a WATCH only when it ends, so open watches are missing there and the apiserver's own loopback requests (kube-system leases) are included.",
        unlimited((u) => crossCheck(u.requests, u.nodes)),
      ),
      row(
        'Raw write rate by client stack (writes/s; client CPU µs per write)',
        "See Setup: the same merge patch, 64 in flight, as the operator's ServiceAccount, in the unlimited run's cluster before the operator starts. Client CPU is the bench process's, for the stacks that run in it.",
        unlimited(
          (u) =>
            (u.rawWrites ?? [])
              .map(
                (w) =>
                  `${w.stack}: ${fmt(w.perSecond, 0)}${w.clientCpuUsPerWrite ? ` (${fmt(w.clientCpuUsPerWrite, 0)} µs)` : ''}`,
              )
              .join('; ') || 'not run',
        ),
      ),
      row(
        'Steady state: operator CPU (s/min) and requests/min',
        'After convergence and after the last finished Job was deleted (+5 s), a window with no changes; CPU from /proc, requests from the operator counter, "dispatched" from its FlowSchema.',
        unlimited((u) => steady(u)),
      ),
      row(
        'Reconcile latency: annotate one node → its Job exists, median / p99 (ms)',
        "In the same cluster after the steady window: one extra, not opted-in node is annotated at a time; from sending the patch to the bench's Job watch delivering ADDED for that node's Job (includes both watch deliveries); the next sample starts once that node is ready. Nearest-rank percentiles.",
        unlimited((u) => {
          const l = u.latencyMs;
          return l && l.length > 0
            ? `${fmt(percentile(l, 50), 0)} / ${fmt(percentile(l, 99), 0)} (n = ${l.length})`
            : 'n/a';
        }),
      ),
      row(
        'Metadata-only Node watch (default) vs whole Nodes: RSS when ready / peak RSS / CPU to all ready (MiB / MiB / s)',
        'The "unlimited" run, and the same with `watch.nodeMetadataOnly: false` (whole Node objects listed and watched instead of `Accept: ...;as=PartialObjectMetadata`).',
        (r) =>
          r.fullWatch && r.unlimited
            ? `metadata ${fmt(r.unlimited.startRssMiB, 0)} / ${fmt(r.unlimited.peakRssMiB, 0)} / ${fmt(r.unlimited.cpuSeconds)}; whole ${fmt(r.fullWatch.startRssMiB, 0)} / ${fmt(r.fullWatch.peakRssMiB, 0)} / ${fmt(r.fullWatch.cpuSeconds)}`
            : 'not run',
      ),
      row(
        'Under a memory limit: limit / all ready (s) / peak RSS (MiB) / CPU (s) / OOM kills',
        'The "unlimited" run with the operator in a memory cgroup of that size (swap included), as `resources.limits.memory` puts it in a container. Node 24 sizes its heap from the cgroup limit.',
        (r) => {
          const l = r.limited;
          if (!l) return 'not run';
          if ('failed' in l) return `${l.memoryLimitMiB} MiB: failed, ${l.failed}`;
          return `${l.memoryLimitMiB} MiB / ${fmt(l.convergeSeconds)} / ${fmt(l.peakRssMiB, 0)} / ${fmt(l.cpuSeconds)} / ${l.oomKills}`;
        },
      ),
      row(
        'Load average (1 / 5 / 15 min) at the start and at convergence, unlimited',
        '`/proc/loadavg` of the machine: above 2 on these 2 cores, other work competed with the run.',
        unlimited((u) => `${load(u.load?.start)} → ${load(u.load?.converged)}`),
      ),
      row('Measured on', 'Date of the run and machine.', (r) => `${r.date}; ${r.machine}`),
    ],
  );
  const parts = [scaleTable, ...sideBySide(results), ...reconcileCost(results)];
  const inst = results.installer;
  if (inst) {
    const med = (f: (s: InstallerSample) => number) => fmt(percentile(inst.samples.map(f), 50), 0);
    const max = (f: (s: InstallerSample) => number) => fmt(Math.max(...inst.samples.map(f)), 0);
    parts.push(
      markdownTable(
        [
          'Installer on a real containerd',
          `median (max) of ${inst.samples.length} runs, ms`,
          'How',
        ],
        [
          [
            '`install` wall time excluding the containerd restart',
            `${med((s) => s.installExclRestartMs)} (${max((s) => s.installExclRestartMs)})`,
            "`node bin/wasm-node-installer.js install --runtimes wasmtime` against a fresh supervised containerd 1.6 (test/support/supervised-node.ts); process start → exit, minus the restart command's own time (a wrapper around it timestamps start and end). Includes shim copy + checksum, config patch, config validation with containerd, CRI verification after the restart.",
          ],
          [
            'containerd restart (restart command)',
            `${med((s) => s.restartMs)} (${max((s) => s.restartMs)})`,
            "The wrapper's start → end: SIGTERM to containerd, the supervisor restarts it, the script waits for a new PID serving the socket.",
          ],
          [
            'No-op re-run of `install`',
            `${med((s) => s.noopMs)} (${max((s) => s.noopMs)})`,
            'Second `install` on the same node: report says changed=false, restarted=false.',
          ],
          [
            'containerd unavailability window during the restart',
            `${med((s) => s.unavailableMs)} (${max((s) => s.unavailableMs)})`,
            'CRI RuntimeService/Status probed back to back (1 s deadline, 5 ms pause) over the socket during the first install; longest stretch from the first failing to the next answering probe.',
          ],
          ['Measured on', `${inst.date}; ${inst.machine}`, ''],
        ],
      ),
    );
  }
  return parts.join('\n\n');
}
