// `npm run demo`, after scripts/demo.sh has installed the tools: the local cluster, the operator
// from the Helm chart, the node opted in, the hello Wasm pod, and the story of what happened.
// Everything it does goes through e2e/local-deploy.ts, as the e2e suite does.
import type { V1Node } from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS } from '../src/operator/keys.ts';
import { nodeMachine, readClusterInfo } from '../test/support/cluster.ts';
import {
  GREETING,
  NAMESPACE,
  OPT_IN_ANNOTATION,
  READY_LABEL,
  RELEASE,
  buildImages,
  connect,
  installOperator,
  isReady,
  runHelloPod,
  runScript,
  setOptIn,
  waitForNodeReady,
} from './local-deploy.ts';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Runs one step with a heading and its time; the story keeps one entry per step. */
async function step<T>(title: string, run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  say(`\n${bold(`▶ ${title}`)}`);
  const start = Date.now();
  const value = await run();
  const ms = Date.now() - start;
  say(`✓ ${title} (${seconds(ms)})`);
  return { value, ms };
}

const demoStart = Date.now();
const setupSeconds = Number(process.env.DEMO_SETUP_SECONDS ?? '0');

// One node is enough here: a Debian 12 machine (reused when a bigger test cluster is up).
const up = await step(
  'Starting the local Kubernetes cluster (a Debian 12 systemd node: kubelet 1.34, containerd 1.6)',
  () =>
    runScript('e2e/cluster/up.sh', ['--nodes', 'bookworm'], {
      progress: true,
      timeoutMs: 60 * 60_000,
    }),
);
const cluster = readClusterInfo();
const d = connect(cluster, { progress: true });
const node = cluster.nodes[0]?.name ?? '';
const machine = nodeMachine(cluster, node);

const images = await step(
  'The operator and installer images from the Dockerfile, the hello-Wasm image (offline, cached)',
  () => buildImages(d, ['operator', 'installer', 'hello']),
);

const operator = await step(`helm upgrade --install ${RELEASE} charts/wasm-node-operator`, () =>
  installOperator(d),
);

const containerdPid = async () => (await machine.sh('systemctl show -P MainPID containerd')).trim();
const pidBefore = await containerdPid();
const alreadyReady = isReady(await d.core.readNode({ name: node }));
const jobsSeen = new Set<string>();
let lastStatus: string | undefined;
const provision = await step(
  `kubectl annotate node ${node} ${OPT_IN_ANNOTATION}=true`,
  async () => {
    await setOptIn(d, node, true);
    return waitForNodeReady(d, node, {
      timeoutMs: 5 * 60_000,
      observe: (n: V1Node, jobs) => {
        for (const job of jobs) {
          const name = job.metadata?.name ?? '';
          if (!jobsSeen.has(name))
            say(`  installer Job ${name} started (privileged, on node ${node})`);
          jobsSeen.add(name);
        }
        const status = n.metadata?.labels?.[LABELS.status];
        if (status !== lastStatus && status !== undefined) say(`  node ${LABELS.status}=${status}`);
        lastStatus = status;
      },
    });
  },
);
const pidAfter = await containerdPid();
const verified = provision.value.metadata?.annotations?.[ANNOTATIONS.message] ?? '';

const hello = await step(
  'Running a Pod with runtimeClassName: wasmtime (localhost/wasm-hello:v1)',
  () => runHelloPod(d, { namespace: 'default', name: 'wasm-hello', node, timeoutMs: 3 * 60_000 }),
);
say(`\n${bold('kubectl logs wasm-hello:')}\n${hello.value.logs.trimEnd()}`);
if (!hello.value.logs.includes(GREETING) || hello.value.pod.status?.phase !== 'Succeeded') {
  throw new Error(`the hello pod ended ${hello.value.pod.status?.phase} without the greeting`);
}

const restarted =
  pidBefore !== pidAfter
    ? `containerd.service restarted by systemd, pid ${pidBefore} → ${pidAfter}`
    : 'containerd untouched';
const install = alreadyReady
  ? 'node was already provisioned'
  : `installer Job ${seconds(provision.ms)} (${restarted})`;
say(`\n${bold('What happened')}`);
say(
  [
    ...(setupSeconds > 0 ? [`tools ${setupSeconds}s`] : []),
    `cluster up ${seconds(up.ms)}`,
    `images ${seconds(images.ms)}`,
    `operator ready ${seconds(operator.ms)}`,
    install,
    'node labelled',
    `hello pod ${seconds(hello.ms)}: ${GREETING}`,
  ].join(' · '),
);
say(`
  1. Node ${node} is a Debian 12 system booted with systemd as PID 1 (/sbin/init, a
     systemd-nspawn machine in ${cluster.machinesDir}), running Debian's containerd.service
     with the config the package ships, and a kubelet.service.
  2. The operator (namespace ${NAMESPACE}) saw the ${OPT_IN_ANNOTATION}=true annotation and started a
     privileged installer Job on node ${node}${jobsSeen.size > 0 ? ` (${[...jobsSeen].join(', ')})` : ''}.
  3. The installer checked the shim against its checksum, added the wasmtime handler to the
     node's /etc/containerd/config.toml, restarted containerd.service through the node's
     systemd and saw the handler registered through CRI (the node says "${verified}").
  4. Only then did the operator label the node ${READY_LABEL}=ready; the RuntimeClass
     "wasmtime" selects that label, so Wasm pods land only on verified nodes.
  5. The hello pod ran the WASI module with wasmtime and exited 0.
Total ${seconds(Date.now() - demoStart + setupSeconds * 1000)}.`);

const kubectl = `${cluster.workDir}/bin/kubectl`;
say(`
${bold('The cluster keeps running. Try:')}
  export KUBECONFIG=${cluster.kubeconfig}   # for your own kubectl; or use ${kubectl}
  ${kubectl} get nodes --show-labels
  ${kubectl} get runtimeclass wasmtime -o yaml
  ${kubectl} logs wasm-hello
  ${kubectl} -n ${NAMESPACE} logs deploy/${RELEASE}
  ${kubectl} get events --field-selector involvedObject.name=${node}
  ${kubectl} annotate node ${node} ${OPT_IN_ANNOTATION}-   # opt out: runtimes removed, config restored
  WASM_NODE_MACHINES_DIR=${cluster.machinesDir} bash e2e/machines/exec.sh ${node} journalctl -u containerd
${bold('Clean up:')} npm run cluster:down`);
