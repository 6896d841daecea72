import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kubeConnection, simpleKubeconfig } from './connection.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-'));
  writeFileSync(path.join(dir, 'ca.crt'), 'CA FROM FILE');
  writeFileSync(path.join(dir, 'token'), 'file-token\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, cluster: object, user: object): string {
  const file = path.join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [
        { name: 'other', context: { cluster: 'nope', user: 'nope' } },
        { name: 'ctx', context: { cluster: 'c', user: 'u' } },
      ],
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

describe('the operator reads common kubeconfigs itself', () => {
  it('a token and inline CA: the current context, the server origin, the bearer token', async () => {
    const conn = simpleKubeconfig(
      kubeconfig(
        'token',
        {
          server: 'https://10.0.0.1:6443/',
          'certificate-authority-data': Buffer.from('CA DATA').toString('base64'),
          'tls-server-name': 'kubernetes',
        },
        { token: 'secret' },
      ),
    );
    expect(conn?.server).toBe('https://10.0.0.1:6443');
    expect(await conn?.tls()).toEqual({
      ca: Buffer.from('CA DATA'),
      cert: undefined,
      key: undefined,
      servername: 'kubernetes',
    });
    expect(await conn?.authHeaders()).toEqual({ authorization: 'Bearer secret' });
  });

  it('files are read relative to the kubeconfig: a CA file and a token file', async () => {
    const conn = simpleKubeconfig(
      kubeconfig(
        'files',
        { server: 'https://api:6443', 'certificate-authority': 'ca.crt' },
        { tokenFile: 'token' },
      ),
    );
    expect((await conn?.tls())?.ca?.toString()).toBe('CA FROM FILE');
    expect(await conn?.authHeaders()).toEqual({ authorization: 'Bearer file-token' });
  });

  it('leaves exec plugins, auth providers and proxies to client-node', () => {
    const server = { server: 'https://api:6443' };
    const exec = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x' } };
    expect(simpleKubeconfig(kubeconfig('exec', server, exec))).toBeUndefined();
    expect(
      simpleKubeconfig(kubeconfig('provider', server, { 'auth-provider': { name: 'oidc' } })),
    ).toBeUndefined();
    expect(
      simpleKubeconfig(kubeconfig('proxy', { ...server, 'proxy-url': 'http://p:3128' }, {})),
    ).toBeUndefined();
  });

  it('an exec plugin goes through client-node, which runs it for the token', async () => {
    const plugin = path.join(dir, 'plugin.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`,
      { mode: 0o755 },
    );
    const conn = await kubeConnection({
      kubeconfig: kubeconfig(
        'exec-run',
        { server: 'https://api:6443', 'insecure-skip-tls-verify': true },
        { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin } },
      ),
      env: {},
    });
    expect(conn.server).toBe('https://api:6443');
    expect(await conn.authHeaders()).toEqual({ authorization: 'Bearer from-exec' });
    expect((await conn.tls()).rejectUnauthorized).toBe(false);
  });
});
