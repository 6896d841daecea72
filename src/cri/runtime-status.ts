import * as grpc from '@grpc/grpc-js';
import { boolField, decodeFields, messages, stringField } from './protobuf-wire.ts';

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface RuntimeStatus {
  conditions: RuntimeCondition[];
  /** Verbose info: containerd puts its effective CRI config, as JSON, under "config". */
  info: Record<string, string>;
}

// runtime.v1.StatusRequest{verbose: true}: field 1, varint 1.
const VERBOSE_REQUEST = Buffer.from([0x08, 0x01]);

/** Decodes runtime.v1.StatusResponse{status: RuntimeStatus = 1; map<string,string> info = 2}. */
export function decodeStatusResponse(buf: Uint8Array): RuntimeStatus {
  const fields = decodeFields(buf);
  const [status] = messages(fields, 1);
  const conditions = status
    ? messages(status, 1).map((c) => ({
        type: stringField(c, 1) ?? '',
        status: boolField(c, 2),
        reason: stringField(c, 3) ?? '',
        message: stringField(c, 4) ?? '',
      }))
    : [];
  const info = Object.fromEntries(
    messages(fields, 2).map((entry) => [stringField(entry, 1) ?? '', stringField(entry, 2) ?? '']),
  );
  return { conditions, info };
}

/** One unary CRI RuntimeService call over the containerd socket, with a deadline. */
function criCall<T>(
  socketPath: string,
  method: string,
  request: Buffer,
  decode: (res: Buffer) => T,
  timeoutMs: number,
): Promise<T> {
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  return new Promise<T>((resolve, reject) => {
    client.makeUnaryRequest(
      `/runtime.v1.RuntimeService/${method}`,
      (req: Buffer) => req,
      decode,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, value) =>
        err || value === undefined
          ? reject(err ?? new Error('empty CRI response'))
          : resolve(value),
    );
  }).finally(() => client.close());
}

/** CRI RuntimeService/Status over the containerd socket, with a deadline. */
export function criStatus(socketPath: string, timeoutMs: number): Promise<RuntimeStatus> {
  return criCall(socketPath, 'Status', VERBOSE_REQUEST, decodeStatusResponse, timeoutMs);
}

export interface RuntimeVersion {
  /** e.g. containerd */
  runtimeName: string;
  /** e.g. v1.7.11-k3s2 */
  runtimeVersion: string;
}

/** Decodes runtime.v1.VersionResponse{version = 1; runtime_name = 2; runtime_version = 3; …}. */
export function decodeVersionResponse(buf: Uint8Array): RuntimeVersion {
  const fields = decodeFields(buf);
  return {
    runtimeName: stringField(fields, 2) ?? '',
    runtimeVersion: stringField(fields, 3) ?? '',
  };
}

/**
 * CRI RuntimeService/Version: the running containerd's own word on its release, for when its
 * binary cannot be asked (k3s' containerd is the multicall k3s binary).
 */
export function criVersion(socketPath: string, timeoutMs: number): Promise<RuntimeVersion> {
  return criCall(socketPath, 'Version', Buffer.alloc(0), decodeVersionResponse, timeoutMs);
}

/**
 * The runtime handlers containerd's CRI plugin has loaded, by name, with their runtime type.
 * Read from the effective config in the verbose status, which is what pods will be run with.
 */
export function registeredHandlers(status: RuntimeStatus): Map<string, string> {
  const config = status.info['config'];
  if (config === undefined) throw new Error('CRI status has no "config" info; is this containerd?');
  const parsed = JSON.parse(config) as {
    containerd?: { runtimes?: Record<string, { runtimeType?: string }> };
  };
  return new Map(
    Object.entries(parsed.containerd?.runtimes ?? {}).map(([name, r]) => [
      name,
      r.runtimeType ?? '',
    ]),
  );
}
