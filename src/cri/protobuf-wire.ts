/**
 * Just enough of the protobuf wire format for the one CRI call the installer makes: varints,
 * and length-delimited fields (strings, nested messages, map entries). Unknown fields are
 * skipped, so newer containerd releases that add fields still decode.
 */
export type WireField = { field: number; varint: bigint } | { field: number; bytes: Uint8Array };

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++];
    if (byte === undefined) throw new Error('truncated protobuf varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

export function decodeFields(buf: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    pos = next;
    const field = Number(key >> 3n);
    switch (Number(key & 7n)) {
      case 0: {
        const [varint, after] = readVarint(buf, pos);
        fields.push({ field, varint });
        pos = after;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const [len, after] = readVarint(buf, pos);
        const end = after + Number(len);
        if (end > buf.length) throw new Error('truncated protobuf field');
        fields.push({ field, bytes: buf.subarray(after, end) });
        pos = end;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type in key ${key}`);
    }
  }
  return fields;
}

const text = new TextDecoder();

export function stringField(fields: WireField[], field: number): string | undefined {
  const f = fields.find((x) => x.field === field && 'bytes' in x);
  return f && 'bytes' in f ? text.decode(f.bytes) : undefined;
}

export function boolField(fields: WireField[], field: number): boolean {
  const f = fields.find((x) => x.field === field && 'varint' in x);
  return f !== undefined && 'varint' in f && f.varint !== 0n;
}

export function messages(fields: WireField[], field: number): WireField[][] {
  return fields.flatMap((x) => (x.field === field && 'bytes' in x ? [decodeFields(x.bytes)] : []));
}
