import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS } from '../src/operator/keys.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  NAMESPACE,
  annotateNodes,
  createNodes,
  runFakeKubelet,
  startBenchCluster,
  watchLabelled,
  type BenchCluster,
} from './bench-cluster.ts';
import {
  heapOf,
  reconcileTotal,
  socketCount,
  startOperatorProcess,
  type HeapFigures,
  startPeerProcess,
  type OperatorEntry,
  type OperatorProcess,
  type PeerCommand,
} from './operator-process.ts';
import { requestsBetween, snapshot, type RequestCounts } from './requests.ts';
import { measureRawWrites, type RawWriteRate } from './raw-writes.ts';

const RUNTIMES = ['wasmtime', 'spin'];
const OPT_IN = 'wasm-node';

/** Which operator a run measures: ours, or a peer command beside it. */
export type Subject =
  | { kind: 'ours'; entry: OperatorEntry; nodeArgs?: string[] }
  | {
      kind: 'peer';
      peer: PeerCommand;
      /** The opt-in annotation the bench sets, e.g. kwasm.sh/kwasm-node=true. */
      optIn: { key: string; value: string };
      /** The label that says a node is done (any value unless one is given). */
      done: { key: string; value?: string };
      /** It deletes finished installer Jobs (as ours does): steady state starts after that. */
      deletesJobs?: boolean;
    };

export interface ScaleOptions {
  nodes: number;
  subject: Subject;
  /** rollout.maxConcurrentInstalls of our operator, e.g. "100%" (no limit) or "10%". */
  maxConcurrentInstalls: string;
  /** Watch Node metadata only (watch.nodeMetadataOnly) instead of full Node objects. */
  nodeMetadataOnly?: boolean;
  /** Runs the operator under this memory limit, like the chart's resources.limits.memory. */
  memoryLimitMiB?: number;
  /** 0 skips the steady-state window. */
  steadySeconds: number;
  /** 0 skips the reconcile latency samples (ours only). */
  latencySamples: number;
  /** Writes per client stack for the raw write rates, before the operator starts (0 skips). */
  rawWrites?: number;
  /** Restart the operator at the end and measure it ready over N managed nodes. */
  restart?: boolean;
  log: (line: string) => void;
}

export type { RequestCounts };

export interface ScaleResult {
  nodes: number;
  /** What ran: our operator (bundle or source) or the peer's name. */
  subject: string;
  /** The peer's command line. */
  command?: string;
  maxConcurrentInstalls: string;
  nodeMetadataOnly: boolean;
  /** From the first opt-in annotation sent to the last node seen with the done label. */
  convergeSeconds: number;
  /** VmRSS when ready (/readyz, or a quiet peer): caches of all nodes loaded, nothing opted in. */
  startRssMiB: number;
  peakRssMiB: number;
  memoryLimitMiB?: number;
  /** OOM kills in the operator's memory cgroup while converging (with memoryLimitMiB). */
  oomKills?: number;
  /** V8 heap (used / total) and external memory when ready and when converged (ours only). */
  heap?: { ready: HeapFigures; converged: HeapFigures };
  /** From the first opt-in annotation to the N-th installer Job the simulated kubelet completed. */
  jobsCompleteSeconds?: number;
  /** Open sockets of the operator process while converging (sampled every second): max / at the end. */
  sockets?: { max: number; converged: number };
  /** utime + stime from process start to convergence. */
  cpuSeconds: number;
  /** The bench process's CPU from the first opt-in to convergence (simulated kubelet, watches). */
  benchCpuSeconds?: number;
  /** From process start to convergence (includes the initial list and watches). */
  requests: RequestCounts;
  /** Our operator's reconciles from the first opt-in to convergence, and its CPU meanwhile. */
  reconciles?: { count: number; cpuSeconds: number };
  /** Load average (1, 5, 15 min) when the run started and when it converged. */
  load: { start: number[]; converged: number[] };
  rawWrites?: RawWriteRate[];
  steady?: { seconds: number; cpuSeconds: number; rssMiB: number; requests: RequestCounts };
  latencyMs?: number[];
  /**
   * VmRSS when /readyz first answers after a restart at the end, with all N nodes managed:
   * the operator then also watches their status (Ready, boot id) as whole Nodes.
   */
  restartRssMiB?: number;
}

const nodeName = (prefix: string, i: number) => `${prefix}-${String(i).padStart(5, '0')}`;
const cpuSecondsSince = (from: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1e6;
};
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

function startSubject(b: BenchCluster, o: ScaleOptions): Promise<OperatorProcess> {
  const common = {
    workDir: b.c.cp.workDir,
    kubeconfigPath: b.operatorKubeconfig,
    memoryLimitMiB: o.memoryLimitMiB,
  };
  if (o.subject.kind === 'peer')
    return startPeerProcess({ ...common, peer: o.subject.peer, namespace: NAMESPACE });
  return startOperatorProcess({
    ...common,
    entry: o.subject.entry,
    nodeArgs: o.subject.nodeArgs,
    config: {
      namespace: NAMESPACE,
      runtimes: RUNTIMES,
      optIn: { annotation: OPT_IN },
      installer: { image: 'wasm-node-installer:bench' },
      rollout: { maxConcurrentInstalls: o.maxConcurrentInstalls },
      ...(o.nodeMetadataOnly === undefined
        ? {}
        : { watch: { nodeMetadataOnly: o.nodeMetadataOnly } }),
      logLevel: 'info',
    },
  });
}

export const subjectName = (s: Subject): string =>
  s.kind === 'peer' ? s.peer.name : `wasm-node-operator (${s.entry})`;

/**
 * One operator run on a fresh control plane: N nodes (plus one probe node per latency sample,
 * not opted in), the operator started as a child process, all N opted in at once, and the
 * simulated kubelet finishing every installer Job as soon as it appears.
 */
export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const startLoad = load();
  const b = await startBenchCluster();
  let op: OperatorProcess | undefined;
  const stops: (() => void)[] = [];
  const ours = o.subject.kind === 'ours';
  const optIn = o.subject.kind === 'peer' ? o.subject.optIn : { key: OPT_IN, value: 'true' };
  const done = o.subject.kind === 'peer' ? o.subject.done : { key: LABELS.status, value: 'ready' };
  try {
    const names = Array.from({ length: o.nodes }, (_, i) => nodeName('node', i));
    const probes = ours
      ? Array.from({ length: o.latencySamples }, (_, i) => nodeName('probe', i))
      : [];
    let t = performance.now();
    await createNodes(b, [...names, ...probes], {});
    o.log(
      `  created ${names.length + probes.length} nodes in ${((performance.now() - t) / 1000).toFixed(1)}s`,
    );
    const rawWrites = o.rawWrites
      ? await measureRawWrites(b, names, o.rawWrites, o.log)
      : undefined;

    const ready = await watchLabelled(b, done.key, done.value);
    stops.push(ready.stop);
    const jobSeen = new Map<string, (at: number) => void>();
    const kubelet = await runFakeKubelet(b, RUNTIMES, (job: V1Job, at) => {
      jobSeen.get(job.metadata?.annotations?.[ANNOTATIONS.node] ?? '')?.(at);
    });
    stops.push(kubelet.stop);

    const before = await snapshot(b, undefined);
    op = await startSubject(b, o);
    const running = op;
    const startRssMiB = op.usage().rssMiB;
    const heapReady = await heapOf(op);
    o.log(`  operator ready (pid ${op.pid}); opting in ${o.nodes} nodes`);

    const optInCpu = op.usage().cpuSeconds;
    const optInReconciles = await reconcileTotal(op);
    const benchCpu = process.cpuUsage();
    t = performance.now();
    let maxSockets = socketCount(op.pid);
    const sampler = setInterval(() => {
      try {
        maxSockets = Math.max(maxSockets, socketCount(running.pid));
      } catch {
        // exited: the wait below says so
      }
    }, 1_000);
    stops.push(() => clearInterval(sampler));
    const progress = setInterval(() => {
      o.log(
        `  ${((performance.now() - t) / 1000).toFixed(0)}s: ${ready.seen.size} done, ${kubelet.live()} Jobs exist`,
      );
    }, 5_000);
    stops.push(() => clearInterval(progress));
    await annotateNodes(b, names, { [optIn.key]: optIn.value });
    o.log(`  annotated after ${((performance.now() - t) / 1000).toFixed(1)}s`);
    await waitFor(
      `all ${o.nodes} nodes labelled ${done.key}`,
      () => names.every((n) => ready.seen.has(n)),
      {
        timeoutMs: 60 * 60_000,
        intervalMs: 50,
        abortIf: () => {
          try {
            running.usage();
            return undefined;
          } catch {
            const kills = running.oomKills();
            return `the operator exited${kills > 0 ? ` (OOM kills in its memory cgroup: ${kills})` : ''}`;
          }
        },
      },
    );
    const convergeSeconds = (performance.now() - t) / 1000;
    clearInterval(progress);
    clearInterval(sampler);
    const sockets = { max: maxSockets, converged: socketCount(op.pid) };
    const nth = kubelet.completedAt[o.nodes - 1];
    const usage = op.usage();
    const converged = await snapshot(b, op);
    const heapConverged = await heapOf(op);
    o.log(
      `  all done after ${convergeSeconds.toFixed(1)}s; peak RSS ${usage.peakRssMiB.toFixed(0)} MiB, CPU ${usage.cpuSeconds.toFixed(1)}s`,
    );
    const result: ScaleResult = {
      nodes: o.nodes,
      subject: subjectName(o.subject),
      ...(o.subject.kind === 'peer' ? { command: o.subject.peer.command } : {}),
      maxConcurrentInstalls: o.maxConcurrentInstalls,
      nodeMetadataOnly: o.nodeMetadataOnly ?? true,
      convergeSeconds,
      ...(nth === undefined ? {} : { jobsCompleteSeconds: (nth - t) / 1000 }),
      sockets,
      startRssMiB,
      peakRssMiB: usage.peakRssMiB,
      cpuSeconds: usage.cpuSeconds,
      benchCpuSeconds: cpuSecondsSince(benchCpu),
      ...(heapReady && heapConverged
        ? { heap: { ready: heapReady, converged: heapConverged } }
        : {}),
      requests: requestsBetween(before, converged),
      load: { start: startLoad, converged: load() },
      ...(ours
        ? {
            reconciles: {
              count: (await reconcileTotal(op)) - optInReconciles,
              cpuSeconds: usage.cpuSeconds - optInCpu,
            },
          }
        : {}),
      ...(rawWrites ? { rawWrites } : {}),
      ...(o.memoryLimitMiB ? { memoryLimitMiB: o.memoryLimitMiB, oomKills: op.oomKills() } : {}),
    };

    if (o.steadySeconds > 0 || probes.length > 0) {
      // Finished Jobs are deleted once recorded; steady state starts after the last one goes.
      if (ours || (o.subject.kind === 'peer' && o.subject.deletesJobs))
        await waitFor('finished installer Jobs to be deleted', () => kubelet.live() === 0, {
          timeoutMs: 10 * 60_000,
          intervalMs: 200,
        });
      await sleep(5_000);
    }
    if (o.steadySeconds > 0) {
      const u0 = op.usage();
      const s0 = await snapshot(b, op);
      await sleep(o.steadySeconds * 1000);
      const u1 = op.usage();
      const s1 = await snapshot(b, op);
      result.steady = {
        seconds: o.steadySeconds,
        cpuSeconds: u1.cpuSeconds - u0.cpuSeconds,
        rssMiB: u1.rssMiB,
        requests: requestsBetween(s0, s1),
      };
      o.log(
        `  steady ${o.steadySeconds}s: CPU ${result.steady.cpuSeconds.toFixed(2)}s, ${result.steady.requests.dispatched} requests dispatched`,
      );
    }
    if (probes.length > 0) {
      result.latencyMs = [];
      for (const probe of probes) {
        const seen = new Promise<number>((resolve) => jobSeen.set(probe, resolve));
        const sent = performance.now();
        await annotateNodes(b, [probe], { [OPT_IN]: 'true' });
        result.latencyMs.push((await seen) - sent);
        jobSeen.delete(probe);
        // One at a time on a quiet operator: wait for the install to finish before the next.
        await waitFor(`${probe} ready`, () => ready.seen.has(probe), {
          timeoutMs: 60_000,
          intervalMs: 20,
        });
      }
      o.log(
        `  reconcile latency over ${probes.length} samples: ${result.latencyMs.map((x) => x.toFixed(0)).join(' ')} ms`,
      );
    }
    if (o.restart) {
      await op.stop();
      op = await startSubject(b, o);
      result.restartRssMiB = op.usage().rssMiB;
      o.log(
        `  restarted over ${o.nodes} managed nodes: RSS when ready ${result.restartRssMiB} MiB`,
      );
    }
    return result;
  } finally {
    for (const stop of stops) stop();
    await op?.stop();
    await b.stop();
  }
}
