// Runs pods through a private containerd's CRI plugin with crictl standing in for the kubelet:
// the pause sandbox image, the WASI hello image, pod and container specs on the host network
// (no CNI), and a run-to-exit helper. Shared by the Wasm runtime tests of the containerd tier.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmContainerdConfig } from './containerd-vm-config.ts';
import { repoPath } from './repo.ts';
import { runCommand, type CommandResult } from './run-command.ts';
import { waitFor } from './wait.ts';
import { WASM_FIXTURE_TIMEOUT_MS, WASM_HELLO_IMAGE, wasmHelloArchive } from './wasm-fixtures.ts';

const PAUSE_IMAGE = 'localhost/pause:local';
const BUSYBOX_IMAGE = 'localhost/busybox:local';

/** vmContainerdConfig with our pause image as the sandbox image; `extra` is appended. */
export function criConfig(extra = '') {
  return (paths: Parameters<typeof vmContainerdConfig>[0]): string =>
    vmContainerdConfig(paths).replace(
      'disable_apparmor = true',
      `disable_apparmor = true\n  sandbox_image = "${PAUSE_IMAGE}"`,
    ) + extra;
}

/** The containerd a test talks CRI to: a private daemon or a supervised node's. */
export interface CriEndpoint {
  address: string;
  logTail(lines?: number): string;
}

export interface ExitedContainer {
  exitCode: number;
  log: string;
}

export class CriPods {
  readonly work: string;
  readonly #crictl: string;
  readonly #archives: string[];
  #pods = 0;

  private constructor(work: string, crictl: string, archives: string[]) {
    this.work = work;
    this.#crictl = crictl;
    this.#archives = archives;
  }

  /** Builds (or reuses from the tool cache) the images and crictl; call from beforeAll. */
  static async prepare(): Promise<CriPods> {
    if (process.getuid?.() !== 0)
      throw new Error('this test starts containerd and pods: run it as root');
    const work = mkdtempSync(join(tmpdir(), 'cri-pods-'));
    const images = await runCommand('bash', [repoPath('e2e/images/base-images.sh'), work], {
      stderr: 'inherit',
      timeoutMs: 300_000,
    });
    const crictl = await runCommand('bash', [repoPath('e2e/tools/build-crictl.sh')], {
      stderr: 'inherit',
      timeoutMs: WASM_FIXTURE_TIMEOUT_MS,
    });
    if (images.code !== 0 || crictl.code !== 0) {
      rmSync(work, { recursive: true, force: true });
      throw new Error('base-images.sh or build-crictl.sh failed; their output is above');
    }
    // an empty crictl config file keeps crictl from warning about /etc/crictl.yaml
    writeFileSync(join(work, 'crictl.yaml'), '');
    writeFileSync(
      join(work, 'container.json'),
      JSON.stringify({
        metadata: { name: 'hello' },
        image: { image: WASM_HELLO_IMAGE },
        log_path: 'hello.log',
      }),
    );
    const bin = join(crictl.stdout.trim().split('\n').at(-1) ?? '', 'crictl');
    writeFileSync(
      join(work, 'sleeper.json'),
      JSON.stringify({
        metadata: { name: 'sleeper' },
        image: { image: BUSYBOX_IMAGE },
        command: ['sleep', '3600'],
        log_path: 'sleeper.log',
      }),
    );
    const archives = ['pause.tar', 'busybox.tar'].map((a) => join(work, a));
    return new CriPods(work, bin, [...archives, await wasmHelloArchive()]);
  }

  /** Imports the pause, busybox and hello images into the daemon's k8s.io namespace. */
  async importImages(d: CriEndpoint): Promise<void> {
    for (const archive of this.#archives) {
      const r = await runCommand(
        'ctr',
        ['--address', d.address, '--namespace', 'k8s.io', 'images', 'import', archive],
        { timeoutMs: 120_000 },
      );
      if (r.code !== 0) throw new Error(failure(`ctr images import ${archive}`, r, d));
    }
  }

  /** A pod sandbox spec on the node's network namespace; returns its file. */
  podSpec(annotations: Record<string, string> = {}): string {
    const n = ++this.#pods;
    const file = join(this.work, `pod-${n}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        metadata: { name: `wasm-${n}`, uid: `wasm-${n}-uid`, namespace: 'default', attempt: 0 },
        annotations,
        log_directory: join(this.work, `logs-${n}`),
        linux: { security_context: { namespace_options: { network: 2 } } },
      }),
    );
    return file;
  }

  crictl(d: CriEndpoint, args: string[]): Promise<CommandResult> {
    const endpoint = `unix://${d.address}`;
    return runCommand(
      this.#crictl,
      [
        '--config',
        join(this.work, 'crictl.yaml'),
        '--runtime-endpoint',
        endpoint,
        '--image-endpoint',
        endpoint,
        '--timeout',
        '60s',
        ...args,
      ],
      { timeoutMs: 90_000 },
    );
  }

  async ok(d: CriEndpoint, args: string[]): Promise<string> {
    const r = await this.crictl(d, args);
    if (r.code !== 0) throw new Error(failure(`crictl ${args.join(' ')}`, r, d));
    return r.stdout.trim();
  }

  /**
   * Runs the hello image in a new pod with `runtime` as the handler, waits for the container
   * to exit, returns its exit code and log, and removes the pod.
   */
  runHello(d: CriEndpoint, runtime: string, pod: string): Promise<ExitedContainer> {
    return this.#withHello(d, runtime, pod, async (container) => {
      await this.ok(d, ['start', container]);
      const status = await waitFor(
        'the container to exit',
        async () => {
          const s = await this.ok(d, [
            'inspect',
            '-o',
            'go-template',
            '--template',
            '{{.status.state}} {{.status.exitCode}}',
            container,
          ]);
          return s.startsWith('CONTAINER_EXITED') ? s : undefined;
        },
        { timeoutMs: 60_000, diagnostics: () => d.logTail(60) },
      );
      return {
        exitCode: Number(status.split(' ')[1]),
        log: await this.ok(d, ['logs', container]),
      };
    });
  }

  /**
   * Starts a pod with `runtime` as the handler whose container sleeps (busybox, not a module:
   * crun's compat-smart variant runs it as an ordinary process, like a Wasm pod's sidecar).
   * The caller stops and removes it.
   */
  async startSleeper(
    d: CriEndpoint,
    runtime: string,
    pod: string,
  ): Promise<{ sandbox: string; container: string }> {
    const sandbox = await this.ok(d, ['runp', '--runtime', runtime, pod]);
    const container = await this.ok(d, ['create', sandbox, join(this.work, 'sleeper.json'), pod]);
    await this.ok(d, ['start', container]);
    return { sandbox, container };
  }

  /** Like runHello for a container that must fail to start: returns crictl's error output. */
  helloStartError(d: CriEndpoint, runtime: string, pod: string): Promise<string> {
    return this.#withHello(d, runtime, pod, async (container) => {
      const r = await this.crictl(d, ['start', container]);
      if (r.code === 0) throw new Error(failure('crictl start (expected to fail)', r, d));
      return r.stderr;
    });
  }

  async #withHello<T>(
    d: CriEndpoint,
    runtime: string,
    pod: string,
    use: (container: string) => Promise<T>,
  ): Promise<T> {
    const sandbox = await this.ok(d, ['runp', '--runtime', runtime, pod]);
    try {
      return await use(
        await this.ok(d, ['create', sandbox, join(this.work, 'container.json'), pod]),
      );
    } finally {
      await this.ok(d, ['stopp', sandbox]);
      await this.ok(d, ['rmp', sandbox]);
    }
  }

  remove(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

export function failure(what: string, r: CommandResult, d: CriEndpoint): string {
  return (
    `${what}: exit ${r.code}, signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n` +
    `containerd log:\n${d.logTail(60)}`
  );
}
