// The release build's download-and-verify path as the Dockerfile's shims stage runs it
// (node scripts/fetch-shims.ts), against a local HTTPS server: one pinned release tarball is
// served as pinned, another is served with different bytes than its pin.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ShimsManifestSchema } from '../formats/shims-manifest.ts';
import { loadShimVersions } from './shim-versions.ts';

const exec = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const REPO = path.resolve(import.meta.dirname, '../..');

let work: string;
let server: Server;
const tarballs: Record<string, Uint8Array> = {};

/** A release-like tarball: the binary in a subdirectory, beside other files. */
async function tarball(name: string, binary: string, content: string): Promise<Uint8Array> {
  const dir = path.join(work, name);
  await mkdir(path.join(dir, 'release'), { recursive: true });
  await writeFile(path.join(dir, 'release', binary), content, { mode: 0o755 });
  await writeFile(path.join(dir, 'release/LICENSE'), 'license text');
  await exec('tar', ['-czf', `${dir}.tar.gz`, '-C', dir, 'release']);
  return new Uint8Array(await readFile(`${dir}.tar.gz`));
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'fetch-shims-download-'));
  await exec('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1'],
    ...['-keyout', path.join(work, 'key.pem'), '-out', path.join(work, 'cert.pem')],
  ]);
  tarballs['wasmtime.tar.gz'] = await tarball('wasmtime', 'containerd-shim-wasmtime-v1', 'shim');
  tarballs['spin.tar.gz'] = await tarball('spin', 'containerd-shim-spin-v2', 'not the pinned one');
  server = createServer(
    {
      key: await readFile(path.join(work, 'key.pem')),
      cert: await readFile(path.join(work, 'cert.pem')),
    },
    (req, res) => {
      const body = tarballs[(req.url ?? '').slice(1)];
      res.writeHead(body ? 200 : 404).end(body ?? 'not found');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(work, { recursive: true, force: true });
});

/** versions.json with wasmtime's and spin's amd64 artifacts pointing at the local server. */
async function versionsFile(spinPin: string): Promise<string> {
  const versions = await loadShimVersions();
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pin = (file: string, sha: string) => ({
    url: `${base}/${file}`,
    sha256: sha,
    checksumSource: 'test',
  });
  versions.runtimes.wasmtime!.artifacts.amd64 = pin(
    'wasmtime.tar.gz',
    sha256(tarballs['wasmtime.tar.gz']!),
  );
  versions.runtimes.spin!.artifacts.amd64 = pin('spin.tar.gz', spinPin);
  const file = path.join(work, 'versions.json');
  await writeFile(file, JSON.stringify(versions));
  return file;
}

async function fetchShims(runtimes: string, out: string, versions: string) {
  return exec(
    process.execPath,
    [
      'scripts/fetch-shims.ts',
      '--arch',
      'amd64',
      '--runtimes',
      runtimes,
      '--out',
      out,
      '--versions',
      versions,
    ],
    { cwd: REPO, env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(work, 'cert.pem') } },
  ).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

test('downloads the pinned tarball over HTTPS, verifies it and writes the shim and its manifest', async () => {
  const out = path.join(work, 'out-ok');
  const versions = await versionsFile(sha256(new TextEncoder().encode('anything')));
  const r = await fetchShims('wasmtime', out, versions);
  expect(r.code).toBe(0);
  expect(await readFile(path.join(out, 'containerd-shim-wasmtime-v1'), 'utf8')).toBe('shim');
  const manifest = ShimsManifestSchema.parse(
    JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')),
  );
  expect(manifest.runtimes).toEqual([
    expect.objectContaining({ name: 'wasmtime', sha256: sha256(new TextEncoder().encode('shim')) }),
  ]);
});

test('refuses a tarball whose bytes differ from the pin, names both checksums and writes no manifest', async () => {
  const out = path.join(work, 'out-wrong');
  const pinned = sha256(new TextEncoder().encode('the release asset'));
  const r = await fetchShims('wasmtime,spin', out, await versionsFile(pinned));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`has sha256 ${sha256(tarballs['spin.tar.gz']!)}, pinned ${pinned}`);
  expect(await readdir(out)).not.toContain('manifest.json');
  expect(await readdir(out)).not.toContain('containerd-shim-spin-v2');
});
