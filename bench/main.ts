import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { freemem, totalmem, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { repoPath } from '../test/support/repo.ts';
import { run } from '../test/support/run-command.ts';
import { realisticNode } from './realistic-node.ts';
import { runInstallerCost } from './installer-cost.ts';
import { runScale, type ScaleOptions, type Subject } from './operator-scale.ts';
import type { OperatorEntry } from './operator-process.ts';
import { measureReconcileCost } from './reconcile-cost.ts';
import { renderMarkdown, type Results } from './report.ts';

const USAGE = `usage: npm run bench -- [--nodes 100,1000] [--runs unlimited,10%] [--steady-seconds 60]
  [--latency-samples 50] [--installer-samples 3] [--watch-compare] [--memory-limit MiB]
  [--raw-writes 3000] [--reconcile-nodes 1000] [--entry bundle|source]
  [--operator-node-args="--cpu-prof --cpu-prof-dir=DIR"]
  [--peer "COMMAND" --peer-opt-in KEY=VALUE --peer-done LABEL[=VALUE] [--peer-name NAME]
   [--peer-deletes-jobs]]
Measured figures are merged into docs/benchmarks.json (by node count) and docs/benchmarks.md is
rendered from all of them, so a run with --nodes 1000 keeps an earlier 5000-node run.
--peer runs another operator command beside ours at every size ({kubeconfig} and {namespace}
in it are replaced; KUBECONFIG, POD_NAMESPACE and CONTROLLER_NAMESPACE are set): the bench sets
its opt-in annotation on every node and waits for its "done" label on all of them; with
--peer-deletes-jobs its steady state starts once it deleted the finished Jobs, as ours does.`;

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100,1000' },
    runs: { type: 'string', default: 'unlimited,10%' },
    'steady-seconds': { type: 'string', default: '60' },
    'latency-samples': { type: 'string', default: '50' },
    'installer-samples': { type: 'string', default: '3' },
    'watch-compare': { type: 'boolean', default: false },
    'memory-limit': { type: 'string', default: '0' },
    'raw-writes': { type: 'string', default: '3000' },
    'reconcile-nodes': { type: 'string', default: '1000' },
    entry: { type: 'string', default: 'bundle' },
    'operator-node-args': { type: 'string', default: '' },
    peer: { type: 'string' },
    'peer-name': { type: 'string', default: 'peer' },
    'peer-opt-in': { type: 'string' },
    'peer-done': { type: 'string' },
    'peer-deletes-jobs': { type: 'boolean', default: false },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const int = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name}: not a non-negative integer: ${text}`);
  return n;
};
const list = (text: string) => text.split(',').filter(Boolean);
const sizes = list(values.nodes).map((n) => int('nodes', n));
const runs = list(values.runs);
for (const r of runs)
  if (r !== 'unlimited' && r !== '10%') throw new Error(`--runs: unlimited or 10%, not ${r}`);
const steadySeconds = int('steady-seconds', values['steady-seconds']);
const latencySamples = int('latency-samples', values['latency-samples']);
const memoryLimit = int('memory-limit', values['memory-limit']);
const installerSamples = int('installer-samples', values['installer-samples']);
const rawWrites = int('raw-writes', values['raw-writes']);
const reconcileNodes = int('reconcile-nodes', values['reconcile-nodes']);
if (values.entry !== 'bundle' && values.entry !== 'source')
  throw new Error(`--entry: bundle or source, not ${values.entry}`);
const ours: Subject = {
  kind: 'ours',
  entry: values.entry as OperatorEntry,
  nodeArgs: values['operator-node-args'].split(' ').filter(Boolean),
};
const peer = peerSubject();

function peerSubject(): Subject | undefined {
  if (!values.peer) return undefined;
  const [key, value] = (values['peer-opt-in'] ?? '').split('=');
  const [doneKey, doneValue] = (values['peer-done'] ?? '').split('=');
  if (!key || value === undefined || !doneKey)
    throw new Error('--peer needs --peer-opt-in KEY=VALUE and --peer-done LABEL[=VALUE]');
  return {
    kind: 'peer',
    peer: { command: values.peer, name: values['peer-name'] },
    optIn: { key, value },
    done: { key: doneKey, value: doneValue },
    deletesJobs: values['peer-deletes-jobs'],
  };
}

/** Hand-written notes below this line in docs/benchmarks.md survive a re-run. */
const NOTES = '<!-- notes: kept by npm run bench -->';
const jsonPath = repoPath('docs/benchmarks.json');
const mdPath = repoPath('docs/benchmarks.md');
const results: Results = existsSync(jsonPath)
  ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Results)
  : { scale: {} };
const machine = `shared VM, nproc ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start), ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const log = (line: string) => console.error(line);
results.nodeJsonBytes = JSON.stringify(realisticNode('node-00000', {})).length;

const save = async () => {
  await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(mdPath, document(renderMarkdown(results)));
};

if (ours.kind === 'ours' && ours.entry === 'bundle') {
  log('bundling the operator (npm run bundle): the image runs this file');
  await run(process.execPath, [repoPath('scripts/bundle.ts')], { cwd: repoPath('.') });
}

const base = (nodes: number): Omit<ScaleOptions, 'subject' | 'maxConcurrentInstalls'> => ({
  nodes,
  steadySeconds: 0,
  latencySamples: 0,
  log,
});

for (const nodes of sizes) {
  const entry: Results['scale'][string] = { date, machine };
  if (runs.includes('unlimited')) {
    log(`operator scale, ${nodes} nodes, maxConcurrentInstalls unlimited`);
    entry.unlimited = await runScale({
      ...base(nodes),
      subject: ours,
      maxConcurrentInstalls: '100%',
      steadySeconds,
      latencySamples,
      rawWrites,
      restart: true,
    });
  }
  if (runs.includes('10%')) {
    log(`operator scale, ${nodes} nodes, maxConcurrentInstalls 10%`);
    entry.tenPercent = await runScale({
      ...base(nodes),
      subject: ours,
      maxConcurrentInstalls: '10%',
    });
  }
  if (values['watch-compare']) {
    log(`operator scale, ${nodes} nodes, whole Node objects watched`);
    entry.fullWatch = await runScale({
      ...base(nodes),
      subject: ours,
      maxConcurrentInstalls: '100%',
      nodeMetadataOnly: false,
    });
  }
  if (memoryLimit > 0) {
    log(`operator scale, ${nodes} nodes, operator memory limited to ${memoryLimit} MiB`);
    // Not enough memory is a finding, not a bench failure: record it with the other figures.
    entry.limited = await runScale({
      ...base(nodes),
      subject: ours,
      maxConcurrentInstalls: '100%',
      memoryLimitMiB: memoryLimit,
    }).catch((err: unknown) => ({
      memoryLimitMiB: memoryLimit,
      failed: (err as Error).message.split('\n')[0] ?? String(err),
    }));
  }
  if (peer) {
    log(`peer scale, ${nodes} nodes: ${values.peer}`);
    entry.peer = await runScale({
      ...base(nodes),
      subject: peer,
      maxConcurrentInstalls: '100%',
      steadySeconds,
    });
  }
  results.scale[String(nodes)] = entry;
  await save();
}
if (reconcileNodes > 0) {
  log(`reconcile cost over the in-memory cluster, ${reconcileNodes} nodes`);
  results.reconcileCost = { date, machine, ...(await measureReconcileCost(reconcileNodes)) };
  await save();
}
if (installerSamples > 0) {
  log(`installer cost, ${installerSamples} samples`);
  results.installer = { date, machine, samples: await runInstallerCost(installerSamples, log) };
}
await save();
console.log(renderMarkdown(results));

function notes(): string {
  const old = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '';
  const at = old.indexOf(NOTES);
  return at < 0 ? `${NOTES}\n` : old.slice(at);
}

function document(tables: string): string {
  return `# Benchmarks

Generated by \`npm run bench\` (bench/main.ts) from the raw figures in
[benchmarks.json](benchmarks.json). Every figure below was measured; none is estimated.
Re-run one size with \`npm run bench -- --nodes 1000\` (a few minutes); the 5,000-node column
comes from \`npm run bench -- --nodes 5000 --installer-samples 0\`. The notes after the tables
(profiles, each change's effect, the goals of issue 15) are written by hand and kept.

**Figures come from a shared 2-core VM**: other engineers' builds and tests may run at the
same time, and the operator, the simulated kubelet, etcd and kube-apiserver all share those 2
cores. Each run records the load average when it started and when it converged; treat
absolute times as upper bounds and compare rows within one run.

## Setup

- Control plane: etcd + kube-apiserver 1.34.4 from test/support/control-plane.ts, default
  flags (\`--max-requests-inflight\` 400, \`--max-mutating-requests-inflight\` 200, API
  Priority and Fairness on). No kubelet, no kube-controller-manager.
- Nodes: created by the bench with a kubelet-sized status (40 images, 4 conditions,
  nodeInfo, addresses, 8 labels): ${results.nodeJsonBytes} bytes of JSON each, 32 creates in
  flight. The bench uses the admin cert (system:masters), which APF exempts, so node
  creation is bounded only by those 32. The bench's own clients (node creation, opt-in
  patches, the simulated kubelet, its watches) share one undici connection pool.
- Operator: the esbuild bundle the image runs (\`npm run bundle\`, then
  \`node dist/wasm-node-operator.mjs --config <file> --kubeconfig <ServiceAccount token>\`) as a
  child process (\`--entry source\` runs \`src/operator/main.ts\` instead); default config except
  runtimes \`wasmtime,spin\`, log level info, and \`maxConcurrentInstalls\` as stated. Leader
  election on (default 15 s lease, 2 s retry). It runs as a ServiceAccount bound to
  cluster-admin, matched by a FlowSchema of its own (\`wasm-node-operator-bench\`, priority
  level workload-high) so that the apiserver counts its requests apart from the bench's.
- Simulated kubelet (bench process): watches installer Jobs; for each new one it creates
  the pod, sets the pod's status with a terminated installer container whose termination
  message is a valid successful install report, and sets the Job's status to Complete
  (test/apiserver/support/fake-kubelet.ts), 16 Jobs in flight.
- Nodes do not change while measuring steady state (no kubelet heartbeats or status
  updates are simulated), so steady-state figures are the operator's floor: lease renewals
  and watch re-connections.
- Node watch: the default, \`watch.nodeMetadataOnly: true\`. The operator reads only Node
  metadata (name, uid, labels, its own annotations), so it lists and watches Nodes as
  PartialObjectMetadata, in pages of 500 (\`--watch-compare\` measures whole Node objects).
- Raw write rates (\`--raw-writes N\`, in the unlimited run's cluster before the operator
  starts): N merge patches of one annotation on the bench's Nodes, 64 in flight, as the
  operator's ServiceAccount, from three client stacks in turn: client-node's generated
  CoreV1Api as the operator used it before issue 15, the operator's own KubePort, and a Go
  net/http client over one HTTP/2 connection (bench/go-writer, standard library only, built
  by bench/go-writer/build.sh into the tool cache). The raw-write floor of a rollout is all
  writes it took (the operator's, the simulated kubelet's and the opt-ins) at the Go rate.
- Side by side (\`--peer\`): another operator command on its own fresh control plane with
  the same nodes, the same simulated kubelet and the same ServiceAccount and FlowSchema; its
  "RSS when ready" is taken once its CPU use stayed under 5 % for 3 s after start.

${tables}

${notes()}`;
}
