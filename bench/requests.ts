import { countApiRequests } from '../src/kube/request-counter.ts';
import { apiserverRequests, operatorDispatched, type BenchCluster } from './bench-cluster.ts';
import { apiRequests, requestsByVerb, type OperatorProcess } from './operator-process.ts';
import { difference, sumBy, type Sample } from './prometheus.ts';

const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'];

export interface RequestCounts {
  /** The operator's own counter (wasm_node_operator_api_requests_total), by verb. */
  client: Record<string, number>;
  /** apiserver_request_total growth minus the bench's own requests, by verb. */
  apiserverMinusBench: Record<string, number>;
  /** apiserver_flowcontrol_dispatched_requests_total growth under the operator's FlowSchema. */
  dispatched: number;
  /** Every write the apiserver served (the operator's, the simulated kubelet's, the opt-ins). */
  allWrites?: number;
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

export interface Snapshot {
  apiserver: Map<string, number>;
  bench: Map<string, number>;
  operator: Map<string, number>;
  dispatched: number;
}

export async function snapshot(
  b: BenchCluster,
  op: OperatorProcess | undefined,
): Promise<Snapshot> {
  const [apiserver, operator, dispatched] = await Promise.all([
    apiserverRequests(b).then(apiserverByVerb),
    op ? apiRequests(op).then(requestsByVerb) : new Map<string, number>(),
    operatorDispatched(b),
  ]);
  return { apiserver, bench: new Map(benchRequests), operator, dispatched };
}

export const writesOf = (counts: Map<string, number> | Record<string, number>) =>
  [...(counts instanceof Map ? counts : Object.entries(counts))].reduce(
    (sum, [verb, n]) => sum + (WRITE_VERBS.includes(verb) ? n : 0),
    0,
  );

export function requestsBetween(before: Snapshot, after: Snapshot): RequestCounts {
  const apiserver = difference(after.apiserver, before.apiserver);
  const bench = difference(after.bench, before.bench);
  return {
    client: record(difference(after.operator, before.operator)),
    apiserverMinusBench: record(difference(apiserver, bench)),
    dispatched: after.dispatched - before.dispatched,
    allWrites: writesOf(apiserver),
  };
}

/** Operator-side writes per node (apiserver count minus the bench's own). */
export const writesPerNode = (r: { nodes: number; requests: RequestCounts }): number =>
  writesOf(r.requests.apiserverMinusBench) / r.nodes;
