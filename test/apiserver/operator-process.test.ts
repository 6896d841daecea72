import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dump } from 'js-yaml';
import { startDaemon, type Daemon } from '../support/daemon.ts';
import { freePorts } from '../support/ports.ts';
import { repoPath } from '../support/repo.ts';
import { waitFor } from '../support/wait.ts';
import {
  createNode,
  isFinished,
  jobs,
  jobsForNode,
  leaseHolder,
  NAMESPACE,
  readLease,
  startCluster,
  waitForNode,
  type TestCluster,
} from './support/test-cluster.ts';
import { FakeKubelet, installReport } from './support/fake-kubelet.ts';

let c: TestCluster;
let dir: string;
const daemons: Daemon[] = [];

beforeAll(async () => {
  c = await startCluster();
  dir = await mkdtemp(path.join(tmpdir(), 'operator-process-'));
}, 60_000);
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await c.stop();
  await rm(dir, { recursive: true, force: true });
});

const LEASE = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '500ms' };

async function get(port: number, route: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: response.status, body: await response.text() };
}

const holder = () => leaseHolder(c);

describe('the real entry point, node src/operator/main.ts, as two child processes', () => {
  it('serves /healthz /readyz /metrics, only the leader acts, and a SIGKILLed leader is replaced within the lease duration', async () => {
    const configPath = path.join(dir, 'config.yaml');
    await writeFile(
      configPath,
      dump({
        namespace: NAMESPACE,
        installer: { image: 'wasm-node-installer:process' },
        rollout: { maxConcurrentInstalls: 2, reverifyInterval: 0 },
        leaderElection: LEASE,
      }),
    );
    const ports = await freePorts(2);
    const start = (identity: string, port: number) => {
      const d = startDaemon(
        `operator-${identity}`,
        process.execPath,
        [
          repoPath('src/operator/main.ts'),
          '--kubeconfig',
          c.cp.kubeconfigPath,
          '--config',
          configPath,
          '--port',
          String(port),
          '--identity',
          identity,
          '--set',
          'server.host=127.0.0.1',
        ],
        path.join(dir, `operator-${identity}.log`),
      );
      daemons.push(d);
      return d;
    };
    const procs = { a: start('proc-a', ports[0]!), b: start('proc-b', ports[1]!) };
    const portOf = { 'proc-a': ports[0]!, 'proc-b': ports[1]! };
    for (const [id, port] of Object.entries(portOf)) {
      await waitFor(`${id} /readyz`, async () => (await get(port, '/readyz')).status === 200, {
        timeoutMs: 30_000,
        diagnostics: () => `${procs.a.logTail(20)}\n${procs.b.logTail(20)}`,
      });
      expect((await get(port, '/healthz')).status).toBe(200);
      expect((await get(port, '/metrics')).body).toMatch(/wasm_node_operator_workqueue_depth/);
    }

    const leader = await waitFor('a lease holder', holder, { timeoutMs: 10_000 });
    const standby = leader === 'proc-a' ? 'proc-b' : 'proc-a';
    const leaderProc = leader === 'proc-a' ? procs.a : procs.b;
    expect((await get(portOf[leader as 'proc-a'], '/metrics')).body).toMatch(
      /wasm_node_operator_leader 1/,
    );
    expect((await get(portOf[standby], '/metrics')).body).toMatch(/wasm_node_operator_leader 0/);

    const kubelet = new FakeKubelet(c, { actAsJobController: true });
    await createNode(c, 'proc-node-1', { annotations: { 'wasm-node': 'true' } });
    const job = await waitFor('a Job', async () => (await jobs(c)).find((j) => !isFinished(j)), {
      timeoutMs: 20_000,
    });
    await kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    await waitForNode(
      c,
      'proc-node-1',
      'ready',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );

    // A crash: no lease release. The standby takes over only once the lease expired: the
    // holder changes with a lease transition, and the dead leader's record was not renewed
    // for at least the lease duration before the standby acquired it. (How soon after expiry
    // is the elector's unit tests' business, with a fake clock.)
    const killedAt = Date.now();
    process.kill(leaderProc.pid, 'SIGKILL');
    // Nobody renews after the kill: this record holds the dead leader's last renewal.
    const before = await readLease(c);
    expect(before.spec?.holderIdentity).toBe(leader);
    await waitFor('the standby to hold the lease', async () => (await holder()) === standby, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    process.stdout.write(`failover after SIGKILL: ${Date.now() - killedAt} ms (lease 4 s)\n`);
    const after = await readLease(c);
    expect(after.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
    const lastRenewal = Date.parse(String(before.spec?.renewTime));
    expect(Date.parse(String(after.spec?.acquireTime)) - lastRenewal).toBeGreaterThanOrEqual(4_000);

    await createNode(c, 'proc-node-2', { annotations: { 'wasm-node': 'true' } });
    const second = await waitFor(
      'a Job for the new node',
      async () => jobsForNode(await jobs(c), 'proc-node-2').find((j) => !isFinished(j)),
      { timeoutMs: 20_000 },
    );
    await kubelet.finishWithReport(second, installReport(['wasmtime', 'spin']));
    await waitForNode(
      c,
      'proc-node-2',
      'ready',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );

    // SIGTERM: a clean exit that releases the lease for the next replica.
    const survivor = standby === 'proc-a' ? procs.a : procs.b;
    await survivor.stop();
    expect(await holder()).toBeUndefined();
    expect(survivor.logTail(20)).toMatch(/shutting down/);
  }, 120_000);
});
