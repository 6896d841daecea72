import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { nodeHostFs } from '../host/fs.ts';
import { hostProcess, tempHostRoot } from '../host/testing.ts';
import { binariesInUse, pruneShims } from './prune.ts';

const BIN = '/opt/wasm-node/bin';
const STATE = '/run/containerd';
let host: ReturnType<typeof tempHostRoot>;
beforeEach(() => {
  host = tempHostRoot();
  for (const dir of ['0123456789abcdef', 'fedcba9876543210', 'aaaaaaaaaaaaaaaa'])
    mkdirSync(host.path(`${BIN}/${dir}/bin`), { recursive: true });
});
afterEach(() => host.dispose());

/** A task's bundle as containerd's runc shim leaves it, with its options. */
function task(id: string, options: string) {
  const dir = host.path(`${STATE}/io.containerd.runtime.v2.task/k8s.io/${id}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/options.json`, options);
}

describe('pruneShims', () => {
  it('keeps what the config uses, what runs, and the crun a live task’s shim will run again', async () => {
    const fs = nodeHostFs(host.root);
    task('c1', JSON.stringify({ binary_name: `${BIN}/fedcba9876543210/bin/crun`, root: '/run/x' }));
    task('c2', JSON.stringify({ root: '/run/runc' }));
    task('c3', '{"binary_na');
    const shim = hostProcess(40, [`${BIN}/aaaaaaaaaaaaaaaa/containerd-shim-wasmtime-v1`]);
    const inUse = await binariesInUse({ fs, processes: () => Promise.resolve([shim]) }, STATE);
    const removed = await pruneShims(BIN, [`${BIN}/0123456789abcdef/bin/crun`], inUse, fs);
    expect(removed).toEqual([]);
    expect(existsSync(host.path(`${BIN}/fedcba9876543210`))).toBe(true);
  });

  it('removes a content directory nothing uses', async () => {
    const fs = nodeHostFs(host.root);
    const removed = await pruneShims(BIN, [`${BIN}/0123456789abcdef/bin/crun`], [], fs);
    expect(removed.sort()).toEqual([`${BIN}/aaaaaaaaaaaaaaaa`, `${BIN}/fedcba9876543210`]);
  });
});
