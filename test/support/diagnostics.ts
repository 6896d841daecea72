import { nodeMachine, type ClusterInfo } from './cluster.ts';
import { kubectlFor } from './kube.ts';

export interface DiagnosticsOptions {
  /** Namespace of the operator and its installer Jobs. */
  namespace: string;
  /** Label selector of the operator's pods. */
  operatorSelector: string;
  /** Label selector of the installer pods. */
  installerSelector: string;
  /** Sections the caller knows more about, e.g. installer pods that are already deleted. */
  extra?: Record<string, string>;
}

const TAIL = 200;

const lastLines = (text: string, n: number) => text.trimEnd().split('\n').slice(-n).join('\n');

/**
 * Prints to stderr what a failed e2e scenario needs to be understood without a rerun: the
 * nodes' labels and annotations, operator and installer logs, Events and each node machine's
 * containerd journal. Each section is read on its own, so one that cannot be read never hides
 * the others.
 */
export async function dumpDiagnostics(
  cluster: ClusterInfo,
  opts: DiagnosticsOptions,
): Promise<void> {
  const kubectl = kubectlFor(cluster.kubectl, cluster.kubeconfig);
  const ns = ['-n', opts.namespace];
  const sections: [string, () => Promise<string>][] = [
    ...cluster.nodes.map(({ name }): [string, () => Promise<string>] => [
      `node ${name}: labels and annotations`,
      () =>
        kubectl([
          'get',
          'node',
          name,
          '-o',
          'jsonpath={.metadata.labels}{"\\n"}{.metadata.annotations}',
        ]),
    ]),
    [
      `pods and jobs in ${opts.namespace}`,
      () => kubectl([...ns, 'get', 'pods,jobs', '-o', 'wide']),
    ],
    [
      'operator logs',
      () =>
        kubectl([
          ...ns,
          'logs',
          '-l',
          opts.operatorSelector,
          '--prefix',
          `--tail=${TAIL}`,
          '--all-containers',
        ]),
    ],
    [
      'installer pod logs',
      () =>
        kubectl([
          ...ns,
          'logs',
          '-l',
          opts.installerSelector,
          '--prefix',
          `--tail=${TAIL}`,
          '--max-log-requests=20',
        ]),
    ],
    ...Object.entries(opts.extra ?? {}).map(([title, text]): [string, () => Promise<string>] => [
      title,
      () => Promise.resolve(text),
    ]),
    [
      'latest events (all namespaces)',
      async () => lastLines(await kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']), 60),
    ],
    ...cluster.nodes.map(({ name }): [string, () => Promise<string>] => [
      `node ${name}: journalctl -u containerd -u kubelet (tail)`,
      () =>
        nodeMachine(cluster, name).sh(
          'journalctl --no-pager -o short-precise -u containerd -u kubelet -n 60',
        ),
    ]),
  ];
  const out: string[] = ['\n==================== e2e diagnostics ===================='];
  for (const [title, read] of sections) {
    const text = await read().catch((err: Error) => `(could not read: ${err.message})`);
    out.push(`---------- ${title} ----------`, text.trimEnd() || '(empty)');
  }
  out.push('==================== end of diagnostics ====================\n');
  process.stderr.write(`${out.join('\n')}\n`);
}
