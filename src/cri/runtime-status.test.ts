import { describe, expect, it } from '@jest/globals';
import {
  decodeStatusResponse,
  decodeVersionResponse,
  registeredHandlers,
} from './runtime-status.ts';

// Protobuf encoding by hand, independent of the decoder under test.
const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >> 7)]);
const bytesField = (field: number, payload: number[]) => [
  (field << 3) | 2,
  ...varint(payload.length),
  ...payload,
];
const str = (field: number, s: string) => bytesField(field, [...Buffer.from(s)]);
const bool = (field: number, b: boolean) => [(field << 3) | 0, b ? 1 : 0];

describe('CRI StatusResponse decoding', () => {
  const config = JSON.stringify({
    containerd: {
      runtimes: {
        runc: { runtimeType: 'io.containerd.runc.v2' },
        wasmtime: { runtimeType: 'io.containerd.wasmtime.v1' },
      },
    },
  });
  const condition = [...str(1, 'RuntimeReady'), ...bool(2, true), ...str(3, ''), ...str(4, '')];
  const message = Uint8Array.from([
    ...bytesField(1, bytesField(1, condition)),
    ...bytesField(2, [...str(1, 'config'), ...str(2, config)]),
    ...bytesField(2, [...str(1, 'golang'), ...str(2, 'go1.26')]),
    0x18,
    0x05, // an unknown varint field 3, as newer releases may add
  ]);

  it('reads conditions, info, and the registered handlers with their runtime types', () => {
    const status = decodeStatusResponse(message);
    expect(status.conditions).toEqual([
      { type: 'RuntimeReady', status: true, reason: '', message: '' },
    ]);
    expect(status.info['golang']).toBe('go1.26');
    expect([...registeredHandlers(status)]).toEqual([
      ['runc', 'io.containerd.runc.v2'],
      ['wasmtime', 'io.containerd.wasmtime.v1'],
    ]);
  });

  it('rejects a truncated message instead of misreading it', () => {
    expect(() => decodeStatusResponse(message.subarray(0, 10))).toThrow(/truncated/);
  });
});

describe('CRI VersionResponse decoding', () => {
  it('reads the runtime name and version (k3s: containerd with a -k3s suffix)', () => {
    const message = Uint8Array.from([
      ...str(1, '0.1.0'),
      ...str(2, 'containerd'),
      ...str(3, 'v1.7.23-k3s2'),
      ...str(4, 'v1'),
    ]);
    expect(decodeVersionResponse(message)).toEqual({
      runtimeName: 'containerd',
      runtimeVersion: 'v1.7.23-k3s2',
    });
  });
});
