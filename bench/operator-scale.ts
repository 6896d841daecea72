import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Job } from '@kubernetes/client-node';
import { countApiRequests } from '../src/kube/request-counter.ts';
import { ANNOTATIONS } from '../src/operator/keys.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  NAMESPACE,
  annotateNodes,
  apiserverRequests,
  createNodes,
  operatorDispatched,
  runFakeKubelet,
  startBenchCluster,
  watchReady,
  type BenchCluster,
} from './bench-cluster.ts';
import { requestsByVerb, startOperatorProcess, type OperatorProcess } from './operator-process.ts';
import { difference, sumBy, type Sample } from './prometheus.ts';

const RUNTIMES = ['wasmtime', 'spin'];
const OPT_IN = 'wasm-node';

export interface ScaleOptions {
  nodes: number;
  /** rollout.maxConcurrentInstalls, e.g. "100%" (no limit) or "10%". */
  maxConcurrentInstalls: string;
  /** Watch Node metadata only (watch.nodeMetadataOnly) instead of full Node objects. */
  nodeMetadataOnly?: boolean;
  /** Runs the operator under this memory limit, like the chart's resources.limits.memory. */
  memoryLimitMiB?: number;
  /** 0 skips the steady-state window. */
  steadySeconds: number;
  /** 0 skips the reconcile latency samples. */
  latencySamples: number;
  log: (line: string) => void;
}

export interface RequestCounts {
  /** The operator's own counter (wasm_node_operator_api_requests_total), by verb. */
  client: Record<string, number>;
  /** apiserver_request_total growth minus the bench's own requests, by verb. */
  apiserverMinusBench: Record<string, number>;
  /** apiserver_flowcontrol_dispatched_requests_total growth under the operator's FlowSchema. */
  dispatched: number;
}

export interface ScaleResult {
  nodes: number;
  maxConcurrentInstalls: string;
  nodeMetadataOnly: boolean;
  /** From the first opt-in annotation sent to the last node seen with status=ready. */
  convergeSeconds: number;
  /** VmRSS when /readyz first answered: caches of all nodes loaded, nothing opted in. */
  startRssMiB: number;
  peakRssMiB: number;
  memoryLimitMiB?: number;
  /** OOM kills in the operator's memory cgroup while converging (with memoryLimitMiB). */
  oomKills?: number;
  /** utime + stime from process start to convergence. */
  cpuSeconds: number;
  /** From process start to convergence (includes the initial list and watches). */
  requests: RequestCounts;
  steady?: { seconds: number; cpuSeconds: number; rssMiB: number; requests: RequestCounts };
  latencyMs?: number[];
}

const record = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort());

/**
 * Counts this process's own API requests (node creation, the simulated kubelet, watches), so
 * they can be subtracted from the apiserver's totals.
 */
const benchRequests = new Map<string, number>();
countApiRequests(({ verb }) => benchRequests.set(verb, (benchRequests.get(verb) ?? 0) + 1));

/** Resource requests only: /metrics, /readyz and the like carry resource="". */
const apiserverByVerb = (samples: Sample[]) =>
  sumBy(
    samples.filter((s) => s.labels.resource),
    (s) => s.labels.verb ?? '',
  );

interface Snapshot {
  apiserver: Map<string, number>;
  bench: Map<string, number>;
  operator: Map<string, number>;
  dispatched: number;
}

async function snapshot(b: BenchCluster, op: OperatorProcess | undefined): Promise<Snapshot> {
  const [apiserver, operator, dispatched] = await Promise.all([
    apiserverRequests(b).then(apiserverByVerb),
    op ? op.apiRequests().then(requestsByVerb) : new Map<string, number>(),
    operatorDispatched(b),
  ]);
  return { apiserver, bench: new Map(benchRequests), operator, dispatched };
}

function requestsBetween(before: Snapshot, after: Snapshot): RequestCounts {
  const apiserver = difference(after.apiserver, before.apiserver);
  const bench = difference(after.bench, before.bench);
  return {
    client: record(difference(after.operator, before.operator)),
    apiserverMinusBench: record(difference(apiserver, bench)),
    dispatched: after.dispatched - before.dispatched,
  };
}

const nodeName = (prefix: string, i: number) => `${prefix}-${String(i).padStart(5, '0')}`;

/**
 * One operator run on a fresh control plane: N nodes (plus one probe node per latency sample,
 * not opted in), the operator started as a child process, all N opted in at once, and the
 * simulated kubelet finishing every installer Job as soon as it appears.
 */
export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const b = await startBenchCluster();
  let op: OperatorProcess | undefined;
  const stops: (() => void)[] = [];
  try {
    const names = Array.from({ length: o.nodes }, (_, i) => nodeName('node', i));
    const probes = Array.from({ length: o.latencySamples }, (_, i) => nodeName('probe', i));
    let t = performance.now();
    await createNodes(b, [...names, ...probes], {});
    o.log(
      `  created ${names.length + probes.length} nodes in ${((performance.now() - t) / 1000).toFixed(1)}s`,
    );

    const ready = await watchReady(b);
    stops.push(ready.stop);
    const jobSeen = new Map<string, (at: number) => void>();
    const kubelet = await runFakeKubelet(b, RUNTIMES, (job: V1Job, at) => {
      jobSeen.get(job.metadata?.annotations?.[ANNOTATIONS.node] ?? '')?.(at);
    });
    stops.push(kubelet.stop);

    const before = await snapshot(b, undefined);
    op = await startOperatorProcess({
      workDir: b.c.cp.workDir,
      kubeconfigPath: b.operatorKubeconfig,
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
      memoryLimitMiB: o.memoryLimitMiB,
    });
    const running = op;
    const startRssMiB = op.usage().rssMiB;
    o.log(`  operator ready (pid ${op.pid}); opting in ${o.nodes} nodes`);

    t = performance.now();
    const progress = setInterval(() => {
      o.log(
        `  ${((performance.now() - t) / 1000).toFixed(0)}s: ${ready.ready.size} ready, ${kubelet.live()} Jobs exist`,
      );
    }, 5_000);
    stops.push(() => clearInterval(progress));
    await annotateNodes(b, names, { [OPT_IN]: 'true' });
    o.log(`  annotated after ${((performance.now() - t) / 1000).toFixed(1)}s`);
    await waitFor(`all ${o.nodes} nodes labelled ready`, () => ready.ready.size >= o.nodes, {
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
    });
    const convergeSeconds = (performance.now() - t) / 1000;
    clearInterval(progress);
    const usage = op.usage();
    const converged = await snapshot(b, op);
    o.log(
      `  all ready after ${convergeSeconds.toFixed(1)}s; peak RSS ${usage.peakRssMiB.toFixed(0)} MiB, CPU ${usage.cpuSeconds.toFixed(1)}s`,
    );
    const result: ScaleResult = {
      nodes: o.nodes,
      maxConcurrentInstalls: o.maxConcurrentInstalls,
      nodeMetadataOnly: o.nodeMetadataOnly ?? true,
      convergeSeconds,
      startRssMiB,
      peakRssMiB: usage.peakRssMiB,
      cpuSeconds: usage.cpuSeconds,
      requests: requestsBetween(before, converged),
      ...(o.memoryLimitMiB ? { memoryLimitMiB: o.memoryLimitMiB, oomKills: op.oomKills() } : {}),
    };

    if (o.steadySeconds > 0 || o.latencySamples > 0) {
      // Finished Jobs are deleted once recorded; steady state starts after the last one goes.
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
    if (o.latencySamples > 0) {
      result.latencyMs = [];
      for (const probe of probes) {
        const seen = new Promise<number>((resolve) => jobSeen.set(probe, resolve));
        const sent = performance.now();
        await annotateNodes(b, [probe], { [OPT_IN]: 'true' });
        result.latencyMs.push((await seen) - sent);
        jobSeen.delete(probe);
        // One at a time on a quiet operator: wait for the install to finish before the next.
        await waitFor(`${probe} ready`, () => ready.ready.has(probe), {
          timeoutMs: 60_000,
          intervalMs: 20,
        });
      }
      o.log(
        `  reconcile latency over ${probes.length} samples: ${result.latencyMs.map((x) => x.toFixed(0)).join(' ')} ms`,
      );
    }
    return result;
  } finally {
    for (const stop of stops) stop();
    await op?.stop();
    await b.stop();
  }
}
