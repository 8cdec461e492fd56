/**
 * Seeded mutations for the fuzz test. Byte-level ones (bit flips, overwrites, truncation,
 * insertion, deletion, planted varints) mostly hit weights or break the wire format;
 * protobuf-field-aware ones (dims, data types, raw_data lengths, op types, wiring, attributes,
 * opsets, external-data flags) keep the file decodable and reach the adapter and onnxruntime.
 * Everything is a pure function of (bytes, seed), so a failure is reproduced from its seed.
 */
import { onnx } from '../../src/core/onnx/model';
import { mulberry32 } from './helpers';

export interface Mutation {
  bytes: Uint8Array;
  /** What was done, for the failure report. */
  description: string;
}

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, list: readonly T[]): T => list[int(rand, list.length)];

/** Values that break assumptions: zero, negative, int32/int53 edges, 2^40. */
const NASTY_DIMS = [
  0,
  1,
  -1,
  2,
  3,
  7,
  64,
  4097,
  65_536,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 40,
  2 ** 53 - 1,
];

export function byteMutation(input: Uint8Array, rand: Rand): Mutation {
  const bytes = Uint8Array.from(input);
  const at = int(rand, bytes.length);
  switch (int(rand, 6)) {
    case 0: {
      const flips = 1 + int(rand, 8);
      const where: number[] = [];
      for (let i = 0; i < flips; i++) {
        const pos = int(rand, bytes.length);
        bytes[pos] ^= 1 << int(rand, 8);
        where.push(pos);
      }
      return { bytes, description: `bit flips at ${where.join(',')}` };
    }
    case 1: {
      const len = 1 + int(rand, 16);
      for (let i = 0; i < len && at + i < bytes.length; i++) bytes[at + i] = int(rand, 256);
      return { bytes, description: `${len} random bytes at ${at}` };
    }
    case 2:
      return { bytes: bytes.subarray(0, at), description: `truncated to ${at} bytes` };
    case 3: {
      const len = 1 + int(rand, 64);
      const extra = Uint8Array.from({ length: len }, () => int(rand, 256));
      const out = new Uint8Array(bytes.length + len);
      out.set(bytes.subarray(0, at));
      out.set(extra, at);
      out.set(bytes.subarray(at), at + len);
      return { bytes: out, description: `${len} bytes inserted at ${at}` };
    }
    case 4: {
      const len = 1 + int(rand, 64);
      const out = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + len)]);
      return { bytes: out, description: `${len} bytes deleted at ${at}` };
    }
    default: {
      // A huge varint where a length or tag was: the classic way to make a parser over-allocate.
      const big = [0xff, 0xff, 0xff, 0xff, 0x0f];
      big.forEach((b, i) => at + i < bytes.length && (bytes[at + i] = b));
      return { bytes, description: `varint 0xffffffff planted at ${at}` };
    }
  }
}

type Attribute = onnx.AttributeProto & { ints: number[] };
type Node = Omit<onnx.NodeProto, 'attribute'> & { attribute: Attribute[] };
type Tensor = onnx.TensorProto & { rawData: Uint8Array };
/** A decoded graph with its repeated fields present (protobufjs always creates them). */
interface Graph {
  node: Node[];
  initializer: Tensor[];
  input: onnx.ValueInfoProto[];
  output: onnx.ValueInfoProto[];
  valueInfo: onnx.ValueInfoProto[];
}

/** One structural edit of a decoded model; returns its description. */
function editModel(proto: onnx.ModelProto, rand: Rand): string {
  const g = proto.graph as unknown as Graph;
  const values = [
    ...g.input.map((v) => v.name ?? ''),
    ...g.initializer.map((t) => t.name),
    ...g.node.flatMap((n) => n.output),
  ];
  const node = () => pick(rand, g.node);
  const init = () => pick(rand, g.initializer);
  const infos = [...g.input, ...g.output, ...g.valueInfo];
  switch (int(rand, 12)) {
    case 0: {
      const t = init();
      const d = int(rand, Math.max(1, t.dims.length));
      const v = pick(rand, NASTY_DIMS);
      t.dims[d] = v;
      return `initializer "${t.name}" dims[${d}] = ${v}`;
    }
    case 1: {
      const info = pick(rand, infos);
      const dims = info.type?.tensorType?.shape?.dim ?? [];
      const v = pick(rand, NASTY_DIMS);
      if (dims.length === 0) return 'no dims to edit';
      const d = int(rand, dims.length);
      dims[d] = onnx.TensorShapeProto.Dimension.create(
        rand() < 0.8 ? { dimValue: v } : { dimParam: 'n' },
      );
      return `value "${info.name}" dim[${d}] = ${JSON.stringify(dims[d])}`;
    }
    case 2: {
      const type = int(rand, 17);
      if (rand() < 0.5) {
        const t = init();
        t.dataType = type;
        return `initializer "${t.name}" data_type = ${type}`;
      }
      const info = pick(rand, infos);
      if (info.type?.tensorType) info.type.tensorType.elemType = type;
      return `value "${info.name}" elem_type = ${type}`;
    }
    case 3: {
      const t = init();
      const raw = t.rawData ?? new Uint8Array();
      const len = rand() < 0.5 ? int(rand, raw.length + 1) : raw.length + 1 + int(rand, 64);
      const out = new Uint8Array(len);
      out.set(raw.subarray(0, Math.min(len, raw.length)));
      t.rawData = out;
      return `initializer "${t.name}" raw_data length ${raw.length} -> ${len}`;
    }
    case 4: {
      const t = init();
      if (t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData?.length)
        return 'no float tensor';
      const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
      const v = pick(rand, [NaN, Infinity, -Infinity, 3e38, 0]);
      const n = 1 + int(rand, 64);
      for (let i = 0; i < n; i++) view.setFloat32(4 * int(rand, t.rawData.length >> 2), v, true);
      return `initializer "${t.name}" ${n} values = ${v}`;
    }
    case 5: {
      const n = node();
      const ops = [...new Set(g.node.map((x) => x.opType))];
      const was = n.opType;
      n.opType = rand() < 0.8 ? pick(rand, ops) : 'Frobnicate';
      return `node "${n.name}" op ${was} -> ${n.opType}`;
    }
    case 6: {
      const n = node();
      if (n.input.length === 0) return 'node without inputs';
      const i = int(rand, n.input.length);
      n.input[i] = rand() < 0.9 ? pick(rand, values) : 'dangling';
      return `node "${n.name}" input[${i}] = "${n.input[i]}"`;
    }
    case 7: {
      const n = node();
      const a = n.attribute.length ? pick(rand, n.attribute) : null;
      if (!a) return 'node without attributes';
      const v = pick(rand, [-99, -1, 0, 1, 99, 2 ** 31, 2 ** 40]);
      a.i = v;
      a.f = v;
      if (a.ints.length) a.ints[int(rand, a.ints.length)] = v;
      if (rand() < 0.2) a.type = int(rand, 15);
      return `node "${n.name}" attribute ${a.name} = ${v} (type ${a.type})`;
    }
    case 8: {
      const i = int(rand, g.node.length);
      const what = pick(rand, ['remove', 'duplicate', 'swap']);
      if (what === 'remove') g.node.splice(i, 1);
      else if (what === 'duplicate')
        g.node.splice(
          i,
          0,
          onnx.NodeProto.decode(onnx.NodeProto.encode(g.node[i]).finish()) as unknown as Node,
        );
      else {
        const j = int(rand, g.node.length);
        [g.node[i], g.node[j]] = [g.node[j], g.node[i]];
      }
      return `${what} node ${i}`;
    }
    case 9: {
      const i = int(rand, g.initializer.length);
      const name = g.initializer[i].name;
      g.initializer.splice(i, 1);
      return `initializer "${name}" removed`;
    }
    case 10: {
      const v = pick(rand, [0, 1, 6, 12, 18, 21, 99, -1]);
      const ir = rand() < 0.5;
      if (ir) proto.irVersion = v;
      else if (proto.opsetImport[0]) proto.opsetImport[0].version = v;
      return `${ir ? 'ir_version' : 'opset'} = ${v}`;
    }
    default: {
      const t = init();
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        {
          key: 'location',
          value: pick(rand, ['weights.bin', '../../etc/passwd', '', '.', 'x\u0000y']),
        },
        { key: 'offset', value: pick(rand, ['0', '-5', 'NaN', '1e30']) },
      ];
      return `initializer "${t.name}" made external`;
    }
  }
}

/**
 * Mutate `bytes` by seed: 60% one to three protobuf-field edits of the decoded model (when it
 * decodes), 40% byte-level. Deterministic in (bytes, seed).
 */
export function mutateModel(
  bytes: Uint8Array,
  seed: number,
  decoded?: onnx.ModelProto,
  mild = false,
): Mutation {
  const rand = mulberry32(seed);
  if (mild && decoded) return mildMutation(bytes, decoded, rand);
  if (rand() < 0.6 && decoded) {
    const proto = onnx.ModelProto.decode(onnx.ModelProto.encode(decoded).finish());
    const edits = 1 + int(rand, 3);
    const done: string[] = [];
    for (let i = 0; i < edits; i++) done.push(editModel(proto, rand));
    return { bytes: onnx.ModelProto.encode(proto).finish(), description: done.join('; ') };
  }
  return byteMutation(bytes, rand);
}

/**
 * For jobs that should reach inference: edits a model usually survives loading with — weights
 * set to NaN/Inf/huge, bit flips (mostly inside weights), one attribute or one declared dim.
 */
function mildMutation(bytes: Uint8Array, decoded: onnx.ModelProto, rand: Rand): Mutation {
  const kind = int(rand, 4);
  if (kind === 0) {
    const out = Uint8Array.from(bytes);
    const flips = 1 + int(rand, 32);
    for (let i = 0; i < flips; i++) out[int(rand, out.length)] ^= 1 << int(rand, 8);
    return { bytes: out, description: `${flips} bit flips (mild)` };
  }
  const proto = onnx.ModelProto.decode(onnx.ModelProto.encode(decoded).finish());
  const g = proto.graph as unknown as Graph;
  let description: string;
  if (kind === 1) {
    const floats = g.initializer.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT);
    const t = pick(rand, floats);
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const v = pick(rand, [NaN, Infinity, -Infinity, 3e38, 0]);
    const n = 1 + int(rand, 256);
    for (let i = 0; i < n; i++) view.setFloat32(4 * int(rand, t.rawData.length >> 2), v, true);
    description = `initializer "${t.name}" ${n} values = ${v} (mild)`;
  } else if (kind === 2) {
    const withAttrs = g.node.filter((n) => n.attribute.length > 0);
    const n = pick(rand, withAttrs);
    const a = pick(rand, n.attribute);
    const v = pick(rand, [-2, -1, 0, 1, 2, 3]);
    if (a.ints.length) a.ints[int(rand, a.ints.length)] = v;
    else if (a.type === onnx.AttributeProto.AttributeType.FLOAT) a.f = v;
    else a.i = v;
    description = `node "${n.name}" attribute ${a.name} = ${v} (mild)`;
  } else {
    const info = pick(rand, [...g.input, ...g.output]);
    const dims = info.type?.tensorType?.shape?.dim ?? [];
    const d = int(rand, Math.max(1, dims.length));
    const v = pick(rand, [1, 2, 49, 51, 3650, 3652, 100_000]);
    if (dims[d]) dims[d] = onnx.TensorShapeProto.Dimension.create({ dimValue: v });
    description = `value "${info.name}" dim[${d}] = ${v} (mild)`;
  }
  return { bytes: onnx.ModelProto.encode(proto).finish(), description };
}

/** Byte-level mutations of a text file (key or data): the same kinds, plus a character swap. */
export function mutateText(text: string, seed: number): Mutation {
  const rand = mulberry32(seed);
  if (rand() < 0.3) {
    const chars = [...text];
    const at = int(rand, chars.length);
    const junk = pick(rand, [
      '"',
      '{',
      ']',
      ',',
      '-',
      '1e999',
      'NaN',
      '\u0000',
      '\n',
      '99999999999',
      ' ',
      '.',
    ]);
    chars[at] = junk;
    return {
      bytes: Buffer.from(chars.join('')),
      description: `char ${at} = ${JSON.stringify(junk)}`,
    };
  }
  return byteMutation(Buffer.from(text), rand);
}
