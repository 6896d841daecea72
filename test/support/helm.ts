import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { runCommand, type CommandResult } from './run-command.ts';
import { repoPath } from './repo.ts';
import { helmPath } from './tools.ts';

export const CHART_DIR = repoPath('charts/wasm-node-operator');

/** A rendered Kubernetes object, loosely typed: tests read fields by path. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface HelmOptions {
  values?: Record<string, unknown>;
  namespace?: string;
  kubeconfig?: string;
}

/**
 * Runs helm; values (if any) go through a file (JSON is YAML). Never rejects on a failure:
 * callers assert on the exit code and stderr.
 */
export async function helm(args: string[], opts: HelmOptions = {}): Promise<CommandResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'helm-values-'));
  try {
    const valuesFile = path.join(dir, 'values.json');
    await writeFile(valuesFile, JSON.stringify(opts.values ?? {}));
    return await runCommand(
      await helmPath(),
      [
        ...args,
        ...(opts.values ? ['--values', valuesFile] : []),
        '--namespace',
        opts.namespace ?? 'wasm-node-system',
        ...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []),
      ],
      { timeoutMs: 120_000 },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart; throws with helm's stderr when rendering fails. */
export async function renderChart(
  opts: HelmOptions & { release?: string } = {},
): Promise<K8sObject[]> {
  const result = await helm(['template', opts.release ?? 'wasm-node-operator', CHART_DIR], opts);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
  return loadAll(result.stdout).filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (!found)
    throw new Error(
      `no ${kind}${name ? ` ${name}` : ''} among ${objects.map((o) => o.kind).join(', ')}`,
    );
  return found;
}
