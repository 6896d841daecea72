import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { apiPort } from '../src/kube/api-port.ts';
import { simpleKubeconfig } from '../src/kube/connection.ts';
import { http2Transport } from '../src/kube/http2-transport.ts';
import { repoPath } from '../test/support/repo.ts';
import { run } from '../test/support/run-command.ts';
import type { BenchCluster } from './bench-cluster.ts';
import { mapLimit } from './pool.ts';

/** Patches in flight per client stack: enough to keep the apiserver's write path full. */
const CONCURRENCY = 64;
const ANNOTATION = 'bench.wasm-node.dev/raw-write';

export interface RawWriteRate {
  /** Which client stack sent the writes. */
  stack: string;
  writes: number;
  perSecond: number;
  /** CPU the client spent per write (µs), where it runs in the bench process. */
  clientCpuUsPerWrite?: number;
  protocol?: string;
}

/**
 * Merge patches of one annotation on existing kubelet-sized Nodes, as fast as the apiserver
 * takes them, from each client stack in turn, all as the operator's ServiceAccount (so under
 * its FlowSchema, like the operator's own writes): the apiserver's write rate for that client.
 */
export async function measureRawWrites(
  b: BenchCluster,
  nodes: readonly string[],
  writes: number,
  log: (line: string) => void,
): Promise<RawWriteRate[]> {
  const targets = nodes.slice(0, 1000);
  const name = (i: number) => targets[i % targets.length]!;
  const body = (tag: string, i: number) => ({
    metadata: { annotations: { [ANNOTATION]: `${tag}-${i}` } },
  });
  const indexes = Array.from({ length: writes }, (_, i) => i);
  const timed = async (stack: string, write: (i: number) => Promise<unknown>) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await mapLimit(indexes, CONCURRENCY, write);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rate: RawWriteRate = {
      stack,
      writes,
      perSecond: writes / seconds,
      clientCpuUsPerWrite: (cpu.user + cpu.system) / writes,
    };
    log(`  raw writes, ${stack}: ${rate.perSecond.toFixed(0)}/s`);
    return rate;
  };

  const kc = new KubeConfig();
  kc.loadFromFile(b.operatorKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const rates = [
    await timed('client-node 2.x as generated (a new connection pool per request)', (i) =>
      core.patchNode({ name: name(i), body: body('client-node', i) }, merge),
    ),
  ];
  // The operator's own stack, as main.ts builds it from a kubeconfig file.
  const transport = http2Transport(simpleKubeconfig(b.operatorKubeconfig)!);
  const port = apiPort(transport, {
    fieldManager: 'bench',
    reportingInstance: 'bench',
    requestTimeoutMs: 60_000,
  });
  rates.push(
    await timed("the operator's KubePort (one HTTP/2 connection)", (i) =>
      port.patchNodeMetadata(name(i), body('operator', i).metadata),
    ),
  );
  await transport.close();
  rates.push(await goWrites(b, targets, writes));
  log(`  raw writes, ${rates.at(-1)!.stack}: ${rates.at(-1)!.perSecond.toFixed(0)}/s`);
  return rates;
}

/** The same patches from a Go net/http client over one HTTP/2 connection (bench/go-writer). */
async function goWrites(
  b: BenchCluster,
  targets: readonly string[],
  writes: number,
): Promise<RawWriteRate> {
  const binary = (await run('bash', [repoPath('bench/go-writer/build.sh')], { timeoutMs: 600_000 }))
    .trim()
    .split('\n')
    .at(-1)!;
  const kc = new KubeConfig();
  kc.loadFromFile(b.operatorKubeconfig);
  const tokenFile = path.join(b.c.cp.workDir, 'operator.token');
  await writeFile(tokenFile, kc.getCurrentUser()?.token ?? '', { mode: 0o600 });
  const out = await run(
    binary,
    [
      '-server',
      b.c.cp.server,
      '-ca',
      path.join(b.c.cp.workDir, 'pki', 'ca.crt'),
      '-token-file',
      tokenFile,
      '-nodes',
      targets.join(','),
      '-writes',
      String(writes),
      '-concurrency',
      String(CONCURRENCY),
    ],
    { timeoutMs: 600_000 },
  );
  const r = JSON.parse(out) as {
    writes: number;
    failed: number;
    perSecond: number;
    protocol: string;
  };
  if (r.failed > 0) throw new Error(`go-writer: ${r.failed} of ${r.writes} writes failed`);
  return {
    stack: `Go net/http (${r.protocol}, one connection)`,
    writes,
    perSecond: r.perSecond,
    protocol: r.protocol,
  };
}
