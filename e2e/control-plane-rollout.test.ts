import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { V1Job, V1Node } from '@kubernetes/client-node';
import { LABELS } from '../src/operator/keys.ts';
import { loadKubeConfig } from '../test/support/kube.ts';
import { ObjectRecorder } from '../test/support/object-recorder.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  NAMESPACE,
  clearNodeMarkers,
  installOperator,
  patchNodeMetadata,
  setOptIn,
  uninstallOperator,
  waitForNodeReady,
} from './local-deploy.ts';
import type { NodeProbe } from './node-probe.ts';
import {
  SETUP_MS,
  expectOneRestartEachInTurn,
  isFinished,
  jobNode,
  metric,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  type Testbed,
} from './scenario.ts';

// Control-plane nodes on the machine cluster (issue 12 item 5): two of the three systemd nodes
// carry the role label k3s, RKE2 and k0s servers carry, the third stays a worker, and the
// operator may run an installer Job on every node at once. Restarting containerd on a server
// restarts its apiserver and etcd member, so the control-plane nodes must go one at a time,
// each only while the other is Ready (its real kubelet says so) and holds no unfinished Job;
// the worker is not held back. Proven in etcd's order (one etcd: a resourceVersion is a
// position in it) from watches on the Nodes and the installer Jobs, and from the restarts
// each machine's systemd logged. A containerd restart here is too short for a kubelet to report
// NotReady, so the last scenario takes a node down the way a kubelet notices: no CNI config.
/** The label as kubeadm, k3s and RKE2 servers and k0s controllers carry it. */
const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';
/** Per node: a Job pod start, a containerd restart through systemd, CRI verification. */
const INSTALL_MS = 180_000;

interface JobSeen {
  uid: string;
  name: string;
  node: string;
  operation: string;
  createdAt: bigint;
  finishedAt?: bigint;
}

/** What the watches delivered, by resourceVersion. */
class RolloutTimeline {
  readonly nodes: { at: bigint; node: string; ready: boolean }[] = [];
  readonly jobs = new Map<string, JobSeen>();
  readonly #recorders: { stop(): void }[] = [];

  static async start(t: Testbed): Promise<RolloutTimeline> {
    const timeline = new RolloutTimeline();
    const kc = loadKubeConfig(t.cluster.kubeconfig);
    timeline.#recorders.push(
      await ObjectRecorder.start<V1Node>(kc, '/api/v1/nodes', CONTROL_PLANE, (_, node) =>
        timeline.#node(node),
      ),
      await ObjectRecorder.start<V1Job>(
        kc,
        `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
        `${LABELS.component}=installer`,
        (_, job) => timeline.#job(job),
      ),
    );
    return timeline;
  }

  #node(node: V1Node): void {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    this.nodes.push({ at: version(node), node: node.metadata?.name ?? '', ready });
  }

  // The first event of a Job is its create (the watch starts before any Job exists); the
  // first one that shows it Complete or Failed is the Job controller's write that finished it.
  #job(job: V1Job): void {
    // By uid: a Job for the same node and operation comes back under the same name.
    const uid = job.metadata?.uid ?? '';
    const seen = this.jobs.get(uid) ?? {
      uid,
      name: job.metadata?.name ?? '',
      node: jobNode(job) ?? '',
      operation: job.metadata?.labels?.[LABELS.operation] ?? '',
      createdAt: version(job),
    };
    if (seen.finishedAt === undefined && isFinished(job)) seen.finishedAt = version(job);
    this.jobs.set(uid, seen);
  }

  /** The node's last recorded Ready state before position `at`. */
  readyBefore(node: string, at: bigint): boolean | undefined {
    return this.nodes.filter((s) => s.node === node && s.at < at).at(-1)?.ready;
  }

  /**
   * Every breach of the rule, for the Jobs of `nodes`: at a Job's create, another of the
   * nodes held an unfinished Job, or its last state was not Ready.
   */
  breaches(nodes: readonly string[]): string[] {
    const jobs = [...this.jobs.values()].filter((j) => nodes.includes(j.node));
    return jobs.flatMap((job) =>
      nodes
        .filter((other) => other !== job.node)
        .flatMap((other) => {
          const busy = jobs.find((j) => j.node === other && runningAt(j, job.createdAt));
          const ready = this.readyBefore(other, job.createdAt);
          return [
            ...(busy ? [`${job.name} created while ${busy.name} on ${other} was unfinished`] : []),
            ...(ready === true ? [] : [`${job.name} created while ${other} was Ready=${ready}`]),
          ];
        }),
    );
  }

  stop(): void {
    for (const r of this.#recorders) r.stop();
  }
}

const version = (o: V1Node | V1Job): bigint => BigInt(o.metadata?.resourceVersion ?? '0');
const runningAt = (job: JobSeen, at: bigint): boolean =>
  job.createdAt < at && (job.finishedAt === undefined || job.finishedAt > at);

let t: Testbed;
const scenario = scenarios(() => t);
let timeline: RolloutTimeline | undefined;
let servers: NodeProbe[];
let worker: NodeProbe;
const serverNames = () => servers.map((n) => n.name);

// Without its CNI config a node's containerd reports NetworkReady=false, and its kubelet the
// Node NotReady: a real kubelet's NotReady that no containerd restart of ours causes. Debian
// 12's containerd does not load the config again when it comes back: it is restarted.
const CNI_CONFIG = '/etc/cni/net.d/10-machine-pods.conflist';
const CNI_AWAY = '/etc/cni/10-machine-pods.conflist.away';
const takeCniAway = (n: NodeProbe) => n.machine.sh(`mv ${CNI_CONFIG} ${CNI_AWAY}`);
const bringCniBack = (n: NodeProbe) =>
  n.machine.sh(
    `if [ -e ${CNI_AWAY} ]; then mv ${CNI_AWAY} ${CNI_CONFIG} && systemctl restart containerd; fi`,
  );
const nodeReady = async (name: string) =>
  (await t.d.core.readNode({ name })).status?.conditions?.find((c) => c.type === 'Ready')
    ?.status === 'True';

const setControlPlane = (node: string, on: boolean) =>
  patchNodeMetadata(t.d, node, { labels: { [CONTROL_PLANE]: on ? '' : null } });

/** The operator's labels and annotations are gone from every node: it has uninstalled. */
const allUninstalled = async () =>
  (await Promise.all(t.nodes.map((n) => t.d.core.readNode({ name: n.name })))).every(
    (n) =>
      ![
        ...Object.keys(n.metadata?.labels ?? {}),
        ...Object.keys(n.metadata?.annotations ?? {}),
      ].some((k) => k.includes('wasm-node.dev')),
  );

/** One Job of `operation` per node, and no control-plane Job against the rule. */
function expectServersInTurn(operation: string): void {
  const jobs = [...(timeline?.jobs.values() ?? [])].filter((j) => j.operation === operation);
  expect(jobs.map((j) => j.node).sort()).toEqual(t.nodes.map((n) => n.name).sort());
  expect(timeline?.breaches(serverNames())).toEqual([]);
  // How the worker went, for the log: the rule does not hold it back.
  const w = jobs.find((j) => j.node === worker.name) as JobSeen;
  const alongside = jobs.filter(
    (j) => j !== w && (runningAt(j, w.createdAt) || runningAt(w, j.createdAt)),
  );
  process.stderr.write(
    `${operation}: the worker's Job ran alongside ${alongside.length} control-plane Job(s); ` +
      `control-plane nodes seen not Ready: ${timeline?.nodes.filter((s) => !s.ready).length}\n`,
  );
}

describe('control-plane nodes on the machine cluster', () => {
  beforeAll(async () => {
    t = await setUpTestbed(['operator', 'installer']);
    servers = t.nodes.slice(0, 2);
    worker = t.nodes[2] as NodeProbe;
    for (const n of servers) await setControlPlane(n.name, true);
    timeline = await RolloutTimeline.start(t);
  }, SETUP_MS);

  afterAll(async () => {
    timeline?.stop();
    if (t) {
      for (const n of servers) await bringCniBack(n);
      for (const n of t.nodes) await setOptIn(t.d, n.name, false);
      await waitFor('the operator to uninstall every node', allUninstalled, {
        timeoutMs: t.nodes.length * INSTALL_MS,
      }).catch(() => undefined);
      await uninstallOperator(t.d);
      for (const n of t.nodes) {
        await clearNodeMarkers(t.d, n.name);
        await setControlPlane(n.name, false);
      }
    }
    await tearDownTestbed(t);
  }, 12 * 60_000);

  scenario(
    'install: with a slot for every node, the control-plane nodes restart containerd one at a time, each only while the other is Ready',
    async (started) => {
      await installOperator(t.d, { maxConcurrentInstalls: '100%' });
      for (const n of [worker, ...servers]) await setOptIn(t.d, n.name, true);
      for (const n of t.nodes)
        await waitForNodeReady(t.d, n.name, { timeoutMs: t.nodes.length * INSTALL_MS });
      expectServersInTurn('install');
      await expectOneRestartEachInTurn(servers, started);
      expect(await worker.restarts(started.getTime() * 1000)).toHaveLength(1);
    },
    12 * 60_000,
  );

  scenario(
    'opt-out: the uninstalls go one control-plane node at a time too, and every config is back as it was',
    async (started) => {
      for (const n of t.nodes) await setOptIn(t.d, n.name, false);
      await waitFor('the operator to uninstall every node', allUninstalled, {
        timeoutMs: t.nodes.length * INSTALL_MS,
      });
      expectServersInTurn('uninstall');
      await expectOneRestartEachInTurn(servers, started);
      for (const n of t.nodes) expect(await n.config()).toBe(t.original.get(n.name));
    },
    12 * 60_000,
  );

  scenario(
    'a control-plane node gets no Job while the other one is NotReady (its kubelet says so), and gets it once that one is Ready again; the worker is not held back',
    async () => {
      const [down, held] = servers as [NodeProbe, NodeProbe];
      const before = new Set(timeline?.jobs.keys()); // uids
      await installOperator(t.d, { maxConcurrentInstalls: '100%' }); // as it is: also run alone
      await takeCniAway(down);
      await waitFor(
        `${down.name}'s kubelet to report NotReady`,
        async () => !(await nodeReady(down.name)),
        {
          timeoutMs: 120_000,
        },
      );
      for (const n of [held, worker]) await setOptIn(t.d, n.name, true);
      await waitForNodeReady(t.d, worker.name, { timeoutMs: INSTALL_MS });
      const jobsNow = () => [...(timeline?.jobs.values() ?? [])].filter((j) => !before.has(j.uid));
      const heldJob = () => jobsNow().find((j) => j.node === held.name)?.name;
      await waitFor(
        `the operator to hold ${held.name} back`,
        async () => (await metric(t, 'wasm_node_operator_nodes', 'state="pending"')) === 1,
        {
          timeoutMs: 60_000,
          abortIf: () => heldJob() && `${heldJob()} started while ${down.name} is NotReady`,
        },
      );
      expect(jobsNow().map((j) => j.node)).toEqual([worker.name]);
      expect(await nodeReady(down.name)).toBe(false);

      await bringCniBack(down);
      await waitForNodeReady(t.d, held.name, { timeoutMs: 120_000 + INSTALL_MS });
      expect(
        jobsNow()
          .map((j) => j.node)
          .sort(),
      ).toEqual([held.name, worker.name].sort());
      expect(timeline?.nodes.some((s) => s.node === down.name && !s.ready)).toBe(true);
      expect(timeline?.breaches(serverNames())).toEqual([]);
    },
    12 * 60_000,
  );
});
