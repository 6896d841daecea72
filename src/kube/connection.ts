import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';

/** TLS settings of the connection to the apiserver (node:tls names). */
export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/** Where the apiserver is and how to authenticate: all a transport needs. */
export interface KubeConnection {
  /** Origin, e.g. https://10.96.0.1:443. */
  server: string;
  /** Read when a connection is made (certificates may be rotated on disk). */
  tls(): Promise<TlsOptions>;
  /** Headers of the next request (a bearer token that may rotate). */
  authHeaders(): Promise<Record<string, string>>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file every minute: projected tokens are rotated on disk. */
const TOKEN_FILE_TTL_MS = 60_000;
/**
 * Headers from client-node's authenticators (exec plugins, OIDC…) are asked for at most this
 * often; they cache and refresh tokens themselves.
 */
const AUTH_TTL_MS = 1_000;

function bearerFromFile(file: string): () => Promise<Record<string, string>> {
  let token = '';
  let readAt = -Infinity;
  return async () => {
    if (Date.now() - readAt > TOKEN_FILE_TTL_MS) {
      token = (await readFile(file, 'utf8')).trim();
      readAt = Date.now();
    }
    return { authorization: `Bearer ${token}` };
  };
}

/** In a pod: the ServiceAccount token, CA and the KUBERNETES_SERVICE_* address. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: async () => ({ ca: await readFile(`${SERVICE_ACCOUNT}/ca.crt`) }),
    authHeaders: bearerFromFile(`${SERVICE_ACCOUNT}/token`),
  };
}

/**
 * A connection with client-node's KubeConfig doing the authentication: every kind of user it
 * supports (exec plugins, auth providers). Its TLS material is read once, its headers at most
 * once a second.
 */
export function connectionFromKubeConfig(kc: KubeConfig): KubeConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig: no current cluster');
  if (cluster.proxyUrl)
    throw new Error(`kubeconfig: proxy-url (${cluster.proxyUrl}) is not supported`);
  const options = async () => {
    const o: { headers: Record<string, string> } & TlsOptions = { headers: {} };
    await kc.applyToHTTPSOptions(o);
    return o;
  };
  let headers: Record<string, string> = {};
  let at = -Infinity;
  return {
    server: new URL(cluster.server).origin,
    async tls() {
      const { ca, cert, key, servername } = await options();
      return {
        ca,
        cert,
        key,
        servername,
        ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      };
    },
    async authHeaders() {
      if (Date.now() - at > AUTH_TTL_MS) {
        headers = lowerCased((await options()).headers);
        at = Date.now();
      }
      return headers;
    },
  };
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = String(v);
  return out;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The common kubeconfig, read without client-node (whose import costs ~80 MiB): a cluster
 * with a CA, and a user with a token, a token file or a client certificate. Anything else
 * (exec plugins, auth providers, basic auth, proxies) returns undefined: the caller then
 * loads client-node's KubeConfig.
 */
export function simpleKubeconfig(file: string): KubeConnection | undefined {
  const doc = load(readFileSync(file, 'utf8')) as KubeconfigFile;
  const dir = path.dirname(file);
  const context = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
  const cluster = doc.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (!cluster || !str(cluster.server)) return undefined;
  const known = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data']);
  known.add('client-key').add('client-key-data');
  if (Object.keys(user).some((k) => !known.has(k)) || cluster['proxy-url']) return undefined;
  const material = (data: unknown, file: unknown): Buffer | undefined => {
    if (str(data)) return Buffer.from(str(data)!, 'base64');
    if (str(file)) return readFileSync(path.resolve(dir, str(file)!));
    return undefined;
  };
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  return {
    server: new URL(str(cluster.server)!).origin,
    tls: async () => ({
      ca: material(cluster['certificate-authority-data'], cluster['certificate-authority']),
      cert: material(user['client-certificate-data'], user['client-certificate']),
      key: material(user['client-key-data'], user['client-key']),
      servername: str(cluster['tls-server-name']),
      ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
    }),
    authHeaders: tokenFile
      ? bearerFromFile(path.resolve(dir, tokenFile))
      : async (): Promise<Record<string, string>> =>
          token ? { authorization: `Bearer ${token}` } : {},
  };
}

/**
 * The operator's connection: in a pod (no --kubeconfig), and for a kubeconfig with a token or
 * client certificate, read here; any other kubeconfig goes through client-node, loaded only
 * then (its import alone costs ~80 MiB of RSS).
 */
export async function kubeConnection(opts: {
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<KubeConnection> {
  const env = opts.env ?? process.env;
  if (!opts.kubeconfig && env.KUBERNETES_SERVICE_HOST) return inClusterConnection(env);
  const simple = opts.kubeconfig ? simpleKubeconfig(opts.kubeconfig) : undefined;
  if (simple) return simple;
  const { clientNodeConnection } = await import('./client-node-connection.ts');
  return clientNodeConnection(opts.kubeconfig);
}
