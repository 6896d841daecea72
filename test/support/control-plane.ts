import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { run } from './run-command.ts';
import { startDaemon, type Daemon } from './daemon.ts';
import { freePorts } from './ports.ts';
import { repoPath } from './repo.ts';
import { kubernetesBinDir } from './tools.ts';
import { waitFor } from './wait.ts';

/** etcd + kube-apiserver (+ kube-controller-manager) of one test, on its own free ports. */
export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  workDir: string;
  /** Kills every process by PID and removes the work dir. */
  stop(): Promise<void>;
  /** Restarts only the apiserver, on the same port, and waits until it is ready again. */
  restartApiserver(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (Job controller, service accounts, garbage collector). */
  controllerManager?: boolean;
  /**
   * Admit pods of the system-node-critical and system-cluster-critical PriorityClasses only
   * in namespaces with a ResourceQuota for that class, as GKE configures its apiservers
   * (ResourceQuota admission's limitedResources).
   */
  limitCriticalPods?: boolean;
}

/** ResourceQuota admission configuration that limits critical-priority pods (GKE's). */
const LIMIT_CRITICAL_PODS = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: ResourceQuota
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: ResourceQuotaConfiguration
      limitedResources:
        - resource: pods
          matchScopes:
            - scopeName: PriorityClass
              operator: In
              values: [system-node-critical, system-cluster-critical]
`;

const READY_TIMEOUT_MS = 60_000;
const START_ATTEMPTS = 3;

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const bin = await kubernetesBinDir();
  for (let attempt = 1; ; attempt++) {
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'wasm-node-cp-'));
    try {
      return await start(bin, workDir, opts);
    } catch (error) {
      await rm(workDir, { recursive: true, force: true });
      // Free ports are only free until someone else binds them; try again with fresh ones.
      const clash = error instanceof Error && /address already in use/.test(error.message);
      if (!clash || attempt === START_ATTEMPTS) throw error;
    }
  }
}

async function start(
  bin: string,
  workDir: string,
  opts: ControlPlaneOptions,
): Promise<ControlPlane> {
  const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const pki = path.join(workDir, 'pki');
  const server = `https://127.0.0.1:${apiPort}`;
  await run('bash', [repoPath('e2e/cluster/pki.sh'), pki, server, 'control-plane'], {
    timeoutMs: 30_000,
  });
  const tls = {
    ca: readFileSync(path.join(pki, 'ca.crt')),
    cert: readFileSync(path.join(pki, 'admin.crt')),
    key: readFileSync(path.join(pki, 'admin.key')),
  };
  const daemon = (name: string, args: string[]): Daemon =>
    startDaemon(name, path.join(bin, name), args, path.join(workDir, `${name}.log`));
  const admission: string[] = [];
  if (opts.limitCriticalPods) {
    const file = path.join(workDir, 'admission.yaml');
    await writeFile(file, LIMIT_CRITICAL_PODS);
    admission.push(`--admission-control-config-file=${file}`);
  }
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const startApiserver = (): Daemon =>
    daemon('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      `--client-ca-file=${pki}/ca.crt`,
      `--tls-cert-file=${pki}/apiserver.crt`,
      `--tls-private-key-file=${pki}/apiserver.key`,
      `--service-account-key-file=${pki}/sa.pub`,
      `--service-account-signing-key-file=${pki}/sa.key`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--authorization-mode=Node,RBAC',
      // What every production cluster runs: kubelets may change only their own Node, and
      // not its node-restriction.kubernetes.io/ labels.
      '--enable-admission-plugins=NodeRestriction',
      ...admission,
      '--allow-privileged=true',
      '--profiling=false',
    ]);

  let etcd: Daemon | undefined;
  let apiserver: Daemon | undefined;
  let controllerManager: Daemon | undefined;
  const stopProcesses = async (): Promise<void> => {
    for (const d of [controllerManager, apiserver, etcd]) await d?.stop();
  };
  const apiserverReady = async (): Promise<void> => {
    const up = apiserver as Daemon;
    await waitFor('kube-apiserver /readyz', () => httpOk(`${server}/readyz`, tls), {
      timeoutMs: READY_TIMEOUT_MS,
      abortIf: () => (up.isRunning() ? undefined : 'kube-apiserver exited'),
      diagnostics: () => `${up.logTail()}\n${etcd?.logTail(10) ?? ''}`,
    });
  };

  try {
    etcd = daemon('etcd', [
      `--data-dir=${workDir}/etcd`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    const etcdUp = etcd;
    await waitFor('etcd /health', () => httpOk(`${etcdUrl}/health`), {
      timeoutMs: READY_TIMEOUT_MS,
      abortIf: () => (etcdUp.isRunning() ? undefined : 'etcd exited'),
      diagnostics: () => etcdUp.logTail(),
    });
    apiserver = startApiserver();
    await apiserverReady();
    if (opts.controllerManager) {
      const kcm = daemon('kube-controller-manager', [
        `--kubeconfig=${pki}/controller-manager.kubeconfig`,
        '--secure-port=0',
        `--service-account-private-key-file=${pki}/sa.key`,
        `--root-ca-file=${pki}/ca.crt`,
        `--cluster-signing-cert-file=${pki}/ca.crt`,
        `--cluster-signing-key-file=${pki}/ca.key`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
      ]);
      controllerManager = kcm;
      // The default service account appears once the controllers run.
      await waitFor(
        'kube-controller-manager to create the default service account',
        () => httpOk(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls),
        {
          timeoutMs: READY_TIMEOUT_MS,
          abortIf: () => (kcm.isRunning() ? undefined : 'kube-controller-manager exited'),
          diagnostics: () => kcm.logTail(),
        },
      );
    }
  } catch (error) {
    await stopProcesses();
    throw error;
  }

  return {
    kubeconfigPath: path.join(pki, 'admin.kubeconfig'),
    server,
    workDir,
    async stop() {
      await stopProcesses();
      await rm(workDir, { recursive: true, force: true });
    },
    async restartApiserver() {
      await apiserver?.stop();
      apiserver = startApiserver();
      await apiserverReady();
    },
  };
}

interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** True when GET url answers 200; false on any other status or a connection error. */
function httpOk(url: string, tls?: Tls): Promise<boolean> {
  return new Promise((resolve) => {
    const request = (tls ? https : http).get(url, { ...tls, timeout: 5_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}
