/**
 * Reading and writing ONNX ModelProto. The protobuf schema comes from `onnx-proto`
 * (protobufjs-generated); this module is the only place that touches the wire format.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { RecMarkError } from '../errors';
import { limits, raiseHint } from '../limits';
import { formatBytes } from '../util/format';
import { readInputFile, writeFileAtomic } from '../util/files';
import { toNumber } from './int64';
import { checkGraphStructure, checkInitializers, checkShapeBuilders } from './validate';

export { onnx };

export interface LoadedModel {
  proto: onnx.ModelProto;
  /** Absolute path of the .onnx file. */
  file: string;
  /** Size of the .onnx file itself, in bytes. */
  fileBytes: number;
  /** External data files the model referenced (relative to its folder), now inlined in memory. */
  externalFiles: string[];
}

/** 2 GiB: protobuf cannot hold a larger message, so bigger models must keep external data. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export async function readModel(file: string): Promise<LoadedModel> {
  const abs = path.resolve(file);
  const maxBytes = limits().modelBytes;
  let bytes: Buffer;
  try {
    bytes = await readInputFile(abs, {
      what: 'Model file',
      code: 'model-missing',
      maxBytes,
      tooLarge: (size) => modelTooLarge(abs, size, maxBytes),
    });
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RecMarkError(`Model file not found: ${abs}`, 'model-missing');
    if (code === 'EISDIR')
      throw new RecMarkError(`${abs} is a folder; pass an .onnx file.`, 'model-missing');
    throw new RecMarkError(`Cannot read ${abs}: ${(err as Error).message}`, 'model-unreadable');
  }
  const label = path.basename(abs);
  const proto = decodeModel(bytes, label);
  const externalFiles = await inlineExternalData(proto, abs, maxBytes - bytes.length);
  checkInitializers(graphOf(proto), label);
  checkShapeBuilders(graphOf(proto), label, limits().shapeElements, raiseHint('shapeElements'));
  return { proto, file: abs, fileBytes: bytes.length, externalFiles };
}

function modelTooLarge(file: string, bytes: number, max: number): RecMarkError {
  return new RecMarkError(
    `${path.basename(file)} needs ${formatBytes(bytes)} with its external data, above the ${formatBytes(max)} ` +
      `model limit; ${raiseHint('modelBytes')}.`,
    'model-too-large',
  );
}

/** Decode bytes into a ModelProto and check it is a model we can work with at all. */
export function decodeModel(bytes: Uint8Array, label = 'model'): onnx.ModelProto {
  if (bytes.length === 0) {
    throw new RecMarkError(
      `${label} is empty (0 bytes); re-export the model or pick another file.`,
      'model-corrupt',
    );
  }
  let proto: onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new RecMarkError(
      `${label} is not a valid ONNX model (protobuf decoding failed: ${(err as Error).message}). ` +
        'The file may be truncated or not an ONNX export; re-export it with torch.onnx.export.',
      'model-corrupt',
    );
  }
  const graph = proto.graph;
  if (!graph?.node?.length || !graph.input?.length || !graph.output?.length) {
    throw new RecMarkError(
      `${label} decodes but holds no usable ONNX graph (no nodes, inputs or outputs). ` +
        'It is probably not an ONNX model; re-export it with torch.onnx.export.',
      'model-corrupt',
    );
  }
  if (toNumber(proto.irVersion) <= 0 || proto.opsetImport.length === 0) {
    throw new RecMarkError(
      `${label} has no IR version or opset import, so it is not a complete ONNX model.`,
      'model-corrupt',
    );
  }
  checkGraphStructure(graph, label);
  return proto;
}

/**
 * Resolve a tensor's external-data location inside the model's folder. Anything that escapes the
 * folder (absolute paths, `..`, symlinks pointing out) is refused: a hostile model must not make
 * us read arbitrary files.
 */
async function resolveExternalLocation(dir: string, location: string): Promise<string> {
  const escapes = (p: string): boolean => {
    const rel = path.relative(dir, p);
    return rel === '' || rel.startsWith('..') || path.isAbsolute(rel);
  };
  const target = path.resolve(dir, location);
  if (path.isAbsolute(location) || escapes(target)) {
    throw new RecMarkError(
      `External data location "${location}" points outside the model's folder; ` +
        'keep external data files next to the .onnx file.',
      'model-external-escape',
    );
  }
  let real: string;
  try {
    real = await fs.realpath(target);
  } catch {
    throw new RecMarkError(
      `External data file "${location}" referenced by the model is missing; ` +
        'copy it next to the .onnx file.',
      'model-external-missing',
    );
  }
  const realDir = await fs.realpath(dir);
  const rel = path.relative(realDir, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new RecMarkError(
      `External data location "${location}" resolves outside the model's folder (symlink); ` +
        'keep external data files next to the .onnx file.',
      'model-external-escape',
    );
  }
  if (!(await fs.stat(real)).isFile()) {
    throw new RecMarkError(
      `External data location "${location}" is not a file; copy the model's data file next to the .onnx file.`,
      'model-external-missing',
    );
  }
  return real;
}

/**
 * Read every externally stored tensor into rawData so the model is self-contained in memory;
 * `budget` is how many bytes the model limit leaves for external data.
 */
async function inlineExternalData(
  proto: onnx.ModelProto,
  modelFile: string,
  budget: number,
): Promise<string[]> {
  const dir = path.dirname(modelFile);
  const files = new Set<string>();
  const tensors = proto.graph?.initializer ?? [];
  let total = 0;
  for (const tensor of tensors) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entries = new Map((tensor.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    if (!location) {
      throw new RecMarkError(
        `Tensor "${tensor.name}" is stored externally but names no location.`,
        'model-corrupt',
      );
    }
    const file = await resolveExternalLocation(dir, location);
    const offset = Number(entries.get('offset') ?? 0);
    const stat = await fs.stat(file);
    const length = entries.has('length') ? Number(entries.get('length')) : stat.size - offset;
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > stat.size
    ) {
      throw new RecMarkError(
        `Tensor "${tensor.name}" asks for bytes ${offset}..${offset + length} of "${location}", ` +
          `which has ${stat.size} bytes; the external data file does not match the model.`,
        'model-external-missing',
      );
    }
    total += length;
    if (total > budget) {
      const max = limits().modelBytes;
      throw modelTooLarge(modelFile, max - budget + total, max);
    }
    const handle = await fs.open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, offset);
      tensor.rawData = buf;
    } finally {
      await handle.close();
    }
    tensor.externalData = [];
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    files.add(location);
  }
  return [...files];
}

export function encodeModel(proto: onnx.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(proto).finish();
}

/** The bytes of a model about to be written as one self-contained file (at most 2 GiB). */
export function modelFileBytes(proto: onnx.ModelProto): Uint8Array {
  const bytes = encodeModel(proto);
  if (bytes.length > PROTOBUF_LIMIT) {
    throw new RecMarkError(
      'The model is larger than 2 GiB, which one ONNX file cannot hold.',
      'model-too-large',
    );
  }
  return bytes;
}

/** Write a model as a new self-contained file, atomically. */
export async function writeModel(proto: onnx.ModelProto, file: string): Promise<void> {
  await writeFileAtomic(file, modelFileBytes(proto));
}

/** Deep copy through the wire format: the only copy that is sure to share nothing. */
export function cloneModel(proto: onnx.ModelProto): onnx.ModelProto {
  return onnx.ModelProto.decode(encodeModel(proto));
}

/** The default-domain opset the model was exported with. */
export function defaultOpset(proto: onnx.ModelProto): number {
  const entry = proto.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? toNumber(entry.version) : 0;
}

/** The graph of a model that passed `decodeModel` (which guarantees one). */
export function graphOf(proto: onnx.IModelProto): onnx.GraphProto {
  if (!proto.graph) throw new RecMarkError('The model has no graph.', 'model-corrupt');
  return proto.graph as onnx.GraphProto;
}
