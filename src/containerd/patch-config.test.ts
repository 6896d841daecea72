import { describe, expect, it } from '@jest/globals';
import { resolveRuntimes } from '../catalog/runtimes.ts';
import { ConfigError, type ConfigErrorCode } from './config-error.ts';
import { addRuntimes, removeRuntimes } from './patch-config.ts';
import { parseToml, tableAt } from './toml-table.ts';

const installs = (...names: string[]) =>
  resolveRuntimes(names).map((runtime) => ({
    runtime,
    binaryPath: `/opt/wasm-node/bin/${runtime.binary}`,
  }));
const add = (text: string, ...names: string[]) =>
  addRuntimes(text, { runtimes: installs(...names) });

function refusal(fn: () => unknown): ConfigErrorCode {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.code;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const V2 =
  'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n';
const runtimesOf = (text: string, ns: string) =>
  tableAt(parseToml(text), ['plugins', ns, 'containerd', 'runtimes']);

describe('addRuntimes', () => {
  it('writes v2 IDs into a v2 file and keeps every original byte as a prefix', () => {
    const r = add(V2, 'wasmtime');
    expect(r.namespace).toBe('io.containerd.grpc.v1.cri');
    expect(r.text.startsWith(V2)).toBe(true);
    expect(runtimesOf(r.text, 'io.containerd.grpc.v1.cri')?.['wasmtime']).toEqual({
      runtime_type: 'io.containerd.wasmtime.v1',
      runtime_path: '/opt/wasm-node/bin/containerd-shim-wasmtime-v1',
    });
  });

  it('follows the tables present, not the header: a version 2 file with v3 IDs gets v3 IDs', () => {
    const aks =
      "version = 2\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\n  default_runtime_name = 'runc'\n";
    const r = add(aks, 'spin');
    expect(r.namespace).toBe('io.containerd.cri.v1.runtime');
    expect(r.version).toBe(2);
    expect(runtimesOf(r.text, 'io.containerd.cri.v1.runtime')?.['spin']).toBeDefined();
    expect(r.text).not.toContain('io.containerd.grpc.v1.cri');
  });

  it('uses v3 IDs for a version 3 file even when it keeps grpc.v1.cri for streaming settings', () => {
    const r = add(
      "version = 3\n[plugins.'io.containerd.grpc.v1.cri']\n  stream_server_port = '0'\n",
      'wasmtime',
    );
    expect(r.namespace).toBe('io.containerd.cri.v1.runtime');
  });

  it('uses v3 IDs for version 4 (containerd 2.3) and never touches the version key', () => {
    const r = add('version = 4\n', 'wasmtime');
    expect(r.namespace).toBe('io.containerd.cri.v1.runtime');
    expect(parseToml(r.text)['version']).toBe(4);
  });

  it('uses short v1 IDs for a versionless file, with a warning about containerd 2.0-2.2', () => {
    const r = add('[plugins.cri.containerd]\n  snapshotter = "overlayfs"\n', 'wasmtime');
    expect(r.namespace).toBe('cri');
    expect(r.warnings.join()).toMatch(/version 1/);
  });

  it('handles an empty file', () => {
    const r = add('', 'wasmtime');
    expect(r.text.startsWith('# BEGIN wasm-node-operator')).toBe(true);
    expect(removeRuntimes(r.text).text).toBe('');
  });

  it('keeps CRLF line endings and restores a CRLF file exactly', () => {
    const crlf = V2.replaceAll('\n', '\r\n');
    const r = add(crlf, 'wasmtime');
    expect(r.text.slice(crlf.length)).not.toMatch(/[^\r]\n/);
    expect(removeRuntimes(r.text).text).toBe(crlf);
  });

  it('restores a file without a final newline exactly', () => {
    const noEol = V2.trimEnd();
    const r = add(noEol, 'wasmtime');
    expect(parseToml(r.text)).toBeDefined();
    expect(removeRuntimes(r.text).text).toBe(noEol);
  });

  it('keeps comments everywhere, including one on the last line', () => {
    const commented = `# head\n${V2}  # inside runc\n# tail`;
    const r = add(commented, 'wasmtime');
    expect(r.text.startsWith(commented)).toBe(true);
  });

  it('mirrors runc SystemdCgroup, and can be told otherwise', () => {
    const systemd = `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n`;
    const wasm = (t: string) => runtimesOf(t, 'io.containerd.grpc.v1.cri')?.['wasmtime'];
    expect(wasm(add(systemd, 'wasmtime').text)).toMatchObject({ options: { SystemdCgroup: true } });
    expect(wasm(add(V2, 'wasmtime').text)).not.toHaveProperty('options');
    const forced = addRuntimes(systemd, { runtimes: installs('wasmtime'), systemdCgroup: false });
    expect(wasm(forced.text)).toMatchObject({ options: { SystemdCgroup: false } });
  });

  it('writes no options for a shim when told containerd cannot pass them (before 1.7)', () => {
    const systemd = `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n`;
    const legacy = ['wasmtime', 'crun-wasm']
      .flatMap((n) => installs(n))
      .map((i) => ({ ...i, shimOptions: false }));
    const runtimes = runtimesOf(
      addRuntimes(systemd, { runtimes: legacy }).text,
      'io.containerd.grpc.v1.cri',
    );
    expect(runtimes?.['wasmtime']).not.toHaveProperty('options');
    // crun runs under runc's own shim, which reads runc options on every release.
    expect(runtimes?.['crun-wasm']).toMatchObject({ options: { SystemdCgroup: true } });
  });

  it('writes crun with BinaryName and the pod annotations its Wasm handler needs', () => {
    const crun = runtimesOf(add(V2, 'crun-wasm').text, 'io.containerd.grpc.v1.cri')?.['crun-wasm'];
    expect(crun).toEqual({
      runtime_type: 'io.containerd.runc.v2',
      pod_annotations: ['module.wasm.image/variant', 'run.oci.handler'],
      options: { BinaryName: '/opt/wasm-node/bin/crun' },
    });
  });

  it('leaves runtime_path out when no binary path is given', () => {
    const [runtime] = resolveRuntimes(['wasmtime']);
    const r = addRuntimes(V2, { runtimes: [{ runtime: runtime! }] });
    expect(runtimesOf(r.text, 'io.containerd.grpc.v1.cri')?.['wasmtime']).toEqual({
      runtime_type: 'io.containerd.wasmtime.v1',
    });
  });

  it('replaces the block in place when the set changes, keeping content written after it', () => {
    const first = add(V2, 'wasmtime');
    const withTail = `${first.text}[metrics]\n  address = "127.0.0.1:1338"\n`;
    const second = add(withTail, 'wasmtime', 'spin');
    expect(second.text.endsWith('[metrics]\n  address = "127.0.0.1:1338"\n')).toBe(true);
    expect(second.text.match(/# BEGIN wasm-node-operator/g)).toHaveLength(1);
    expect(second.written).toEqual(['wasmtime', 'spin']);
    expect(removeRuntimes(second.text).text).toBe(`${V2}[metrics]\n  address = "127.0.0.1:1338"\n`);
  });

  it('is idempotent: a second run gives identical bytes and reports no change', () => {
    const once = add(V2, 'wasmtime', 'crun-wasm');
    const twice = add(once.text, 'wasmtime', 'crun-wasm');
    expect(twice.text).toBe(once.text);
    expect(twice.changed).toBe(false);
  });

  it('extends runtimes defined with dotted keys, which TOML allows for sub-tables', () => {
    const dotted =
      'version = 2\n[plugins]\n  "io.containerd.grpc.v1.cri".containerd.runtimes.runc.runtime_type = "io.containerd.runc.v2"\n';
    const r = add(dotted, 'wasmtime');
    expect(Object.keys(runtimesOf(r.text, 'io.containerd.grpc.v1.cri') ?? {})).toEqual([
      'runc',
      'wasmtime',
    ]);
  });

  it('preserves integers beyond 2^53', () => {
    const big = `${V2}[grpc]\n  max_recv_message_size = 18446744073709551615\n`;
    expect(add(big, 'wasmtime').text.startsWith(big)).toBe(true);
  });
});

describe('handlers that already exist outside our block', () => {
  it('adopts an equivalent quoted entry (k3s auto-detection) instead of duplicating it', () => {
    const k3s = `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes."spin"]\n  runtime_type = "io.containerd.spin.v2"\n`;
    const r = add(k3s, 'spin', 'wasmtime');
    expect(r.adopted).toEqual([{ name: 'spin', runtimePath: undefined }]);
    expect(r.written).toEqual(['wasmtime']);
    expect(parseToml(r.text)).toBeDefined();
  });

  it('adopts an existing crun entry whose BinaryName is crun and that passes the annotations', () => {
    const existing = `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun-wasm]\n  runtime_type = "io.containerd.runc.v2"\n  pod_annotations = ["module.wasm.image/variant", "run.oci.handler", "x"]\n  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun-wasm.options]\n    BinaryName = "/usr/local/bin/crun"\n`;
    expect(add(existing, 'crun-wasm').adopted.map((a) => a.name)).toEqual(['crun-wasm']);
  });

  it('refuses a same-named handler with other settings, naming it', () => {
    const other = `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.spin]\n  runtime_type = "io.containerd.spin.v1"\n`;
    expect(refusal(() => add(other, 'spin'))).toBe('handler-conflict');
    expect(() => add(other, 'spin')).toThrow(/"spin" is already defined/);
  });

  it('refuses crun without the pod annotations crun needs', () => {
    const bare = `${V2}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun-wasm]\n  runtime_type = "io.containerd.runc.v2"\n`;
    expect(refusal(() => add(bare, 'crun-wasm'))).toBe('handler-conflict');
  });
});

describe('refusals change nothing and say why', () => {
  it.each([
    ['invalid TOML', 'version = 2\n[plugins\n', 'invalid-toml'],
    ['a Go template', '{{ template "base" . }}\n', 'invalid-toml'],
    ['an unknown version', 'version = 5\n', 'unsupported-version'],
    ['a string version', 'version = "2"\n', 'unsupported-version'],
    [
      'both CRI namespaces holding runtime settings',
      '[plugins."io.containerd.grpc.v1.cri".containerd]\n[plugins."io.containerd.cri.v1.runtime".containerd]\n',
      'ambiguous-namespace',
    ],
    [
      'v2 runtime settings in a version 3 file',
      'version = 3\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "overlayfs"\n',
      'ambiguous-namespace',
    ],
    [
      'v1 IDs in a version 2 file',
      'version = 2\n[plugins.cri.containerd]\n',
      'ambiguous-namespace',
    ],
    [
      'runtimes written as an inline table',
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes = { runc = { runtime_type = "io.containerd.runc.v2" } }\n',
      'not-extendable',
    ],
    [
      'the containerd table written inline',
      'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  containerd = { snapshotter = "overlayfs" }\n',
      'not-extendable',
    ],
    [
      'a BEGIN marker without END',
      `${V2}# BEGIN wasm-node-operator managed block\n`,
      'malformed-block',
    ],
    [
      'two blocks',
      `${V2}# BEGIN wasm-node-operator managed block\n# END wasm-node-operator managed block\n# BEGIN wasm-node-operator managed block\n# END wasm-node-operator managed block\n`,
      'malformed-block',
    ],
  ])('%s', (_label, text, code) => {
    expect(refusal(() => add(text, 'wasmtime'))).toBe(code);
  });

  it('removal of a file without our block returns it unchanged', () => {
    const r = removeRuntimes(V2);
    expect(r.text).toBe(V2);
    expect(r.changed).toBe(false);
  });
});
