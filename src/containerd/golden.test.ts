import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { RUNTIMES } from '../catalog/runtimes.ts';
import { ConfigError } from './config-error.ts';
import { addRuntimes, removeRuntimes } from './patch-config.ts';
import { parseToml } from './toml-table.ts';

// Real configs from kind, k3s, RKE2, MicroK8s, minikube, EKS, AKS, GKE/COS, Talos and containerd's
// own defaults. Expected outputs are checked in; UPDATE_GOLDEN=1 rewrites them after a reviewed change.
const SAMPLES = new URL('../../test/fixtures/containerd-samples/', import.meta.url);
const GOLDEN = new URL('../../test/fixtures/patcher-golden/', import.meta.url);
const samples = readdirSync(SAMPLES).filter((f) => f !== 'README.md');
const allRuntimes = RUNTIMES.map((runtime) => ({
  runtime,
  binaryPath: `/opt/wasm-node/bin/${runtime.binary}`,
}));

// runc as Debian's containerd 1.6.20 has it built in (its `config dump` of an empty config), so
// the outputs are what the installer writes on such a node.
const builtIn = parseToml(`[runc]
  base_runtime_spec = ""
  cni_conf_dir = ""
  cni_max_conf_num = 0
  container_annotations = []
  pod_annotations = []
  privileged_without_host_devices = false
  runtime_engine = ""
  runtime_path = ""
  runtime_root = ""
  runtime_type = "io.containerd.runc.v2"
  [runc.options]
    BinaryName = ""
    CriuImagePath = ""
    CriuPath = ""
    CriuWorkPath = ""
    IoGid = 0
    IoUid = 0
    NoNewKeyring = false
    NoPivotRoot = false
    Root = ""
    ShimCgroup = ""
    SystemdCgroup = false
`);
const options = { runtimes: allRuntimes, builtIn };

function outcome(text: string): string {
  try {
    return addRuntimes(text, options).text;
  } catch (err) {
    if (err instanceof ConfigError) return `# refused: ${err.code}\n`;
    throw err;
  }
}

describe('golden output over every real-world sample', () => {
  it('has samples to test', () => expect(samples.length).toBeGreaterThanOrEqual(19));

  it.each(samples)('%s', (name) => {
    const input = readFileSync(new URL(name, SAMPLES), 'utf8');
    const got = outcome(input);
    const golden = new URL(`${name}.out`, GOLDEN);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, got);
    if (!existsSync(golden))
      throw new Error(`no golden file for ${name}; review the output and run with UPDATE_GOLDEN=1`);
    expect(got).toBe(readFileSync(golden, 'utf8'));
    if (got.startsWith('# refused')) return;
    // The original bytes survive as a prefix, a second run is byte-identical, removal restores them.
    expect(got.startsWith(input)).toBe(true);
    expect(addRuntimes(got, options).changed).toBe(false);
    expect(removeRuntimes(got).text).toBe(input);
  });
});
