import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIMES } from '../../src/catalog/runtimes.ts';
import { CRI_NAMESPACES } from '../../src/containerd/config-layout.ts';
import { addRuntimes, type PatchResult } from '../../src/containerd/patch-config.ts';
import { canonical, parseToml, tableAt, type TomlTable } from '../../src/containerd/toml-table.ts';
import { containerdBuilds, type ContainerdBuild } from '../support/containerd-builds.ts';
import { runCommand } from '../support/run-command.ts';

// The proof that a patched file means to containerd what the patcher says it means: each real
// binary's own `config dump` (the effective, merged config) is read before and after the patch.
const SAMPLES = new URL('../fixtures/containerd-samples/', import.meta.url);
const BIN_DIR = '/opt/wasm-node/bin';
const installs = RUNTIMES.map((runtime) => ({
  runtime,
  binaryPath: `${BIN_DIR}/${runtime.binary}`,
}));

const work = mkdtempSync(join(tmpdir(), 'config-dump-'));
let builds: ContainerdBuild[] = [];

beforeAll(() => {
  builds = containerdBuilds();
}, 1_800_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function dump(build: ContainerdBuild, text: string, name: string) {
  const file = join(work, `${build.version}-${name}`);
  writeFileSync(file, text);
  // From an unrelated directory, so relative imports resolve against the file, as on a node.
  const r = await runCommand(build.containerd, ['--config', file, 'config', 'dump'], {
    cwd: work,
    timeoutMs: 30_000,
  });
  return { code: r.code, stderr: r.stderr, doc: r.code === 0 ? parseToml(r.stdout) : undefined };
}

/** Where the effective config of this release holds CRI runtimes, whatever the file said. */
function effectiveRuntimes(build: ContainerdBuild, doc: TomlTable): TomlTable {
  const ns = build.major === 1 ? CRI_NAMESPACES.v2 : CRI_NAMESPACES.v3;
  return tableAt(doc, ['plugins', ns, 'containerd', 'runtimes']) ?? {};
}
function defaultRuntime(build: ContainerdBuild, doc: TomlTable): unknown {
  const ns = build.major === 1 ? CRI_NAMESPACES.v2 : CRI_NAMESPACES.v3;
  return tableAt(doc, ['plugins', ns, 'containerd'])?.['default_runtime_name'];
}

/**
 * Combinations where containerd honours the file's CRI section at all: 1.x ignores v3 plugin
 * IDs, and 2.0-2.2 ignore the CRI section of a versionless (v1) file.
 */
function honoured(build: ContainerdBuild, patch: PatchResult): boolean {
  if (build.major === 1) return patch.namespace !== CRI_NAMESPACES.v3;
  return patch.version !== 1;
}

const sampleNames = readdirSync(SAMPLES).filter((f) => f.endsWith('.toml'));

/**
 * What the installer passes as built-in runtimes on this release: on 1.x, whose decoding drops
 * them once a file declares a runtime, the runtimes its dump of an empty config shows.
 */
async function builtInOf(build: ContainerdBuild): Promise<TomlTable | undefined> {
  if (build.major !== 1) return undefined;
  const { doc } = await dump(build, 'version = 2\n', 'empty.toml');
  return effectiveRuntimes(build, doc as TomlTable);
}

describe.each(['debian-1.6', 'v1.7.35', 'v2.2.9'])('containerd %s config dump', (version) => {
  const build = () => builds.find((b) => b.version === version) as ContainerdBuild;

  it.each(sampleNames)('%s: handlers registered, everything else unchanged', async (name) => {
    const input = readFileSync(new URL(name, SAMPLES), 'utf8');
    const patch = addRuntimes(input, { runtimes: installs, builtIn: await builtInOf(build()) });
    const before = await dump(build(), input, name);
    const after = await dump(build(), patch.text, `patched-${name}`);
    if (before.code !== 0) {
      // A file this release rejects (v3 on 1.7.17+, Talos' missing import on 1.x) stays rejected:
      // the patch must not be what makes or breaks it.
      expect(after.code).toBe(before.code);
      return;
    }
    expect(after.code).toBe(0);
    const [was, now] = [before.doc as TomlTable, after.doc as TomlTable];
    const nowRuntimes = effectiveRuntimes(build(), now);
    if (!honoured(build(), patch)) {
      expect(Object.keys(nowRuntimes)).not.toContain('wasmtime');
      return;
    }
    for (const { runtime, binaryPath } of installs) {
      const got = tableAt(nowRuntimes, [runtime.name]);
      expect(got?.['runtime_type']).toBe(runtime.runtimeType);
      if (runtime.launch === 'shim') expect(got?.['runtime_path']).toBe(binaryPath);
      else expect(tableAt(got ?? {}, ['options'])?.['BinaryName']).toBe(binaryPath);
      expect(got?.['pod_annotations'] ?? []).toEqual(runtime.podAnnotations);
    }
    const wasRuntimes = effectiveRuntimes(build(), was);
    for (const [handler, entry] of Object.entries(wasRuntimes)) {
      expect(canonical(nowRuntimes[handler])).toBe(canonical(entry));
    }
    expect(defaultRuntime(build(), now)).toEqual(defaultRuntime(build(), was));
    expect(tableAt(nowRuntimes, ['runc', 'options'])?.['SystemdCgroup']).toEqual(
      tableAt(wasRuntimes, ['runc', 'options'])?.['SystemdCgroup'],
    );
  });

  it('accepts runtimes added as a sub-table of dotted keys', async () => {
    const dotted =
      'version = 2\n[plugins]\n  "io.containerd.grpc.v1.cri".containerd.runtimes.runc.runtime_type = "io.containerd.runc.v2"\n';
    const patch = addRuntimes(dotted, { runtimes: installs });
    const after = await dump(build(), patch.text, 'dotted.toml');
    expect(after.code).toBe(0);
    expect(Object.keys(effectiveRuntimes(build(), after.doc as TomlTable))).toEqual(
      expect.arrayContaining(['runc', 'wasmtime', 'crun-wasm']),
    );
  });
});
