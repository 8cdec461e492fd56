/**
 * The bad-input corpus (issue 8): broken models, keys and data files, each through the CLI
 * commands that read it (inspect, verify --key, embed grew, with --data where it matters). Every
 * case must be refused as bad input — a RecMarkError with the expected stable code and a message
 * naming the problem — with no output file written and the input left untouched. Most cases run
 * the CLI in-process (`run` throws what `main` maps to exit 2); a handful run the real CLI
 * process to prove exit code 2, one line on stderr and no stack trace.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { run } from '../../src/cli/main';
import { RecMarkError } from '../../src/core/errors';
import { encodeModel, onnx } from '../../src/core/onnx/model';
import { fixture, mulberry32, runCli, tempDir } from '../support/helpers';
import {
  AOW_KEY,
  grewKey,
  grewKeyJson,
  ITEMS,
  writeGoodInputs,
  writeModelVariant,
  type EditableGraph,
  type GoodInputs,
} from '../support/corpusInputs';
import { tinyModel, valueInfo } from '../support/tinyModel';

const { DataType } = onnx.TensorProto;
const W = ITEMS + 1;

type Command = 'inspect' | 'verify' | 'embed';

interface Case {
  name: string;
  /** The commands that read the broken input. */
  via: Command[];
  code: string;
  message: RegExp;
  /** Writes the broken input into `dir`; returns what replaces the good inputs. */
  make: (dir: string, good: GoodInputs) => Partial<Inputs>;
  /** Extra arguments for every command of the case. */
  args?: string[];
  env?: Record<string, string>;
}

interface Inputs {
  model: string;
  key: string;
  data?: string;
}

const MODEL_COMMANDS: Command[] = ['inspect', 'verify', 'embed'];
const RUNNING: Command[] = ['verify', 'embed'];

const write = (dir: string, name: string, content: string | Uint8Array): string => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
};
const model = (m: string) => ({ model: m });
const key = (k: string) => ({ key: k });
const data = (d: string) => ({ data: d });
const keyJson = (dir: string, value: unknown) =>
  key(write(dir, 'bad.wmkey.json', JSON.stringify(value)));

/** Move item_emb's bytes to an external file at `location` (written as `dataFile`). */
function externalModel(dir: string, location: string, dataFile: string | null = location): string {
  return writeModelVariant(dir, 'external.onnx', (_p, g) => {
    const emb = g.initializer[0];
    if (dataFile) writeFileSync(path.join(dir, dataFile), emb.rawData!);
    emb.rawData = new Uint8Array();
    emb.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    emb.externalData = [{ key: 'location', value: location }];
  });
}

const setOutput = (g: EditableGraph, elemType: number, dims: (number | string)[]) => {
  g.output[0] = valueInfo('scores', elemType, dims);
};

let tenMillionLines: string | null = null;
/** 10^7 interaction lines (40 MB), made once, in a temp folder. */
function tenMillionLineFile(): string {
  if (!tenMillionLines) {
    const line = Buffer.from('1 5\n');
    const block = Buffer.alloc(line.length * 100_000);
    for (let i = 0; i < 100_000; i++) line.copy(block, i * line.length);
    const file = path.join(tempDir(), 'ten-million.txt');
    writeFileSync(file, '');
    const parts = Array.from({ length: 100 }, () => block);
    writeFileSync(file, Buffer.concat(parts));
    tenMillionLines = file;
  }
  return tenMillionLines;
}

const CASES: Case[] = [
  // ---------- files that are not ONNX models ----------
  {
    name: 'zero-byte model file',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /empty \(0 bytes\)/,
    make: (dir) => model(write(dir, 'empty.onnx', '')),
  },
  {
    name: 'fixture truncated to half',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /not a valid ONNX model.*truncated/,
    make: (dir) => {
      const bytes = readFileSync(fixture('sasrec_opset17.onnx'));
      return model(write(dir, 'half.onnx', bytes.subarray(0, bytes.length >> 1)));
    },
  },
  {
    name: 'fixture cut one byte short',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /not a valid ONNX model/,
    make: (dir) => {
      const bytes = readFileSync(fixture('gru4rec.onnx'));
      return model(write(dir, 'short.onnx', bytes.subarray(0, bytes.length - 1)));
    },
  },
  {
    name: 'random bytes',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /ONNX/,
    make: (dir) => {
      const rand = mulberry32(8);
      const bytes = Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256));
      return model(write(dir, 'random.onnx', bytes));
    },
  },
  {
    name: 'text file named .onnx',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /ONNX/,
    make: (dir) => model(write(dir, 'readme.onnx', '# My model\n\nTrained on ML-1M.\n'.repeat(40))),
  },
  {
    name: 'gzip-compressed model',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /ONNX/,
    make: (dir) => model(write(dir, 'model.onnx.gz.onnx', gzipSync(encodeModel(tinyModel())))),
  },
  {
    name: 'key file passed as the model',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /ONNX/,
    make: (_dir, good) => model(good.grewKey),
  },
  {
    name: 'folder passed as the model',
    via: MODEL_COMMANDS,
    code: 'model-missing',
    message: /is a folder/,
    make: (dir) => {
      mkdirSync(path.join(dir, 'folder.onnx'));
      return model(path.join(dir, 'folder.onnx'));
    },
  },
  {
    name: 'missing model file',
    via: MODEL_COMMANDS,
    code: 'model-missing',
    message: /not found/,
    make: (dir) => model(path.join(dir, 'nowhere.onnx')),
  },
  {
    name: 'protobuf with no graph',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /no usable ONNX graph/,
    make: (dir) =>
      model(
        write(
          dir,
          'nograph.onnx',
          encodeModel(onnx.ModelProto.create({ irVersion: 8, producerName: 'x' })),
        ),
      ),
  },
  {
    name: 'no opset import',
    via: MODEL_COMMANDS,
    code: 'model-corrupt',
    message: /no IR version or opset import/,
    make: (dir) => model(writeModelVariant(dir, 'noopset.onnx', (p) => (p.opsetImport = []))),
  },
  {
    name: 'model above the size limit',
    via: MODEL_COMMANDS,
    code: 'model-too-large',
    message: /above the 4\.0 KB model limit; set RECMARK_MAX_MODEL_MB/,
    env: { RECMARK_MAX_MODEL_MB: String(4 / 1024) },
    make: (_dir, good) => model(good.model),
  },
  // ---------- models RecMark cannot find its way into ----------
  {
    name: 'no integer input (float sequence)',
    via: MODEL_COMMANDS,
    code: 'adapter-no-input',
    message: /"item_seq" float\[batch, 10\].*set "input" in the sidecar/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'float-in.onnx', (_p, g) => {
          g.input[0] = valueInfo('item_seq', DataType.FLOAT, ['batch', 10]);
        }),
      ),
  },
  {
    name: 'float-only inputs',
    via: MODEL_COMMANDS,
    code: 'adapter-no-input',
    message: /"item_seq" double\[batch, 10\], "weights" float\[batch, 10\]/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'floats.onnx', (_p, g) => {
          g.input[0] = valueInfo('item_seq', DataType.DOUBLE, ['batch', 10]);
          g.input.push(valueInfo('weights', DataType.FLOAT, ['batch', 10]));
        }),
      ),
  },
  {
    name: 'sequence input of rank 3',
    via: MODEL_COMMANDS,
    code: 'adapter-no-input',
    message: /int64\[batch, 10, 1\]/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'rank3-in.onnx', (_p, g) => {
          g.input[0] = valueInfo('item_seq', DataType.INT64, ['batch', 10, 1]);
        }),
      ),
  },
  {
    name: 'sequence input of rank 1',
    via: MODEL_COMMANDS,
    code: 'adapter-no-input',
    message: /int64\[10\]/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'rank1-in.onnx', (_p, g) => {
          g.input[0] = valueInfo('item_seq', DataType.INT64, [10]);
        }),
      ),
  },
  {
    name: 'two candidate sequence inputs',
    via: MODEL_COMMANDS,
    code: 'adapter-ambiguous',
    message: /"item_seq", "other_seq".*Set "input"/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'two-in.onnx', (_p, g) => {
          g.input.push(valueInfo('other_seq', DataType.INT64, ['batch', 10]));
        }),
      ),
  },
  {
    name: 'score output of rank 4',
    via: MODEL_COMMANDS,
    code: 'adapter-no-output',
    message: /No output holds item scores.*\[batch, 1, 1, 201\]/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'rank4-out.onnx', (_p, g) =>
          setOutput(g, DataType.FLOAT, ['batch', 1, 1, W]),
        ),
      ),
  },
  {
    name: 'score output of rank 1',
    via: MODEL_COMMANDS,
    code: 'adapter-no-output',
    message: /No output holds item scores.*\[201\]/,
    make: (dir) =>
      model(writeModelVariant(dir, 'rank1-out.onnx', (_p, g) => setOutput(g, DataType.FLOAT, [W]))),
  },
  {
    name: 'integer score output',
    via: MODEL_COMMANDS,
    code: 'adapter-no-output',
    message: /expected a float \[batch, N\]/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'int-out.onnx', (_p, g) =>
          setOutput(g, DataType.INT64, ['batch', W]),
        ),
      ),
  },
  {
    name: 'dynamic catalogue size and no item embedding',
    via: MODEL_COMMANDS,
    code: 'adapter-no-output',
    message: /catalogue size is unknown. Set "numItems"/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'dyn-out.onnx', (_p, g) => {
          // The ids reach the Gather through arithmetic, so no embedding table is recognised.
          g.node.unshift(
            onnx.NodeProto.create({ opType: 'Abs', input: ['item_seq'], output: ['ids'] }),
          );
          g.node[1].input[1] = 'ids';
          setOutput(g, DataType.FLOAT, ['batch', 'n']);
        }),
      ),
  },
  {
    name: 'zero items: one score column',
    via: MODEL_COMMANDS,
    code: 'adapter-no-items',
    message: /scores 1 id\(s\), so the model has no items/,
    make: (dir) => {
      const proto = tinyModel({ items: 0 });
      return model(write(dir, 'zero-items.onnx', encodeModel(proto)));
    },
  },
  {
    name: 'zero items: only pad and mask ids',
    via: MODEL_COMMANDS,
    code: 'adapter-no-items',
    message: /all are special \(pad 0, mask 1\).*"padId" and "maskId"/,
    make: (dir) => {
      const file = write(dir, 'pad-mask.onnx', encodeModel(tinyModel({ items: 1 })));
      writeFileSync(`${file}.recmark.json`, JSON.stringify({ maskId: 1 }));
      return model(file);
    },
  },
  {
    name: 'declared catalogue of 2^40 items',
    via: MODEL_COMMANDS,
    code: 'catalogue-too-large',
    message:
      /1,099,511,627,776 score columns, above the 10,000,000-item limit; set RECMARK_MAX_ITEMS/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'huge-out.onnx', (_p, g) =>
          setOutput(g, DataType.FLOAT, ['batch', 2 ** 40]),
        ),
      ),
  },
  {
    name: 'declared sequence length of 2^40',
    via: MODEL_COMMANDS,
    code: 'sequence-too-long',
    message: /sequences of 1,099,511,627,776 items, above the 4,096 limit; set RECMARK_MAX_SEQ_LEN/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'huge-seq.onnx', (_p, g) => {
          g.input[0] = valueInfo('item_seq', DataType.INT64, ['batch', 2 ** 40]);
        }),
      ),
  },
  {
    name: 'initializer declaring 2^40 rows',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /initializer "item_emb" has shape \[1099511627776, 8\] but holds 6,432 bytes/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'huge-init.onnx', (_p, g) => (g.initializer[0].dims = [2 ** 40, 8])),
      ),
  },
  {
    name: 'initializer with truncated raw data',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /initializer "proj" has shape \[8, 201\] but holds 6,428 bytes instead of 6,432/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'short-init.onnx', (_p, g) => {
          g.initializer[1].rawData = g.initializer[1].rawData.subarray(4);
        }),
      ),
  },
  {
    name: 'initializer with a negative dimension',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /initializer "proj" has an invalid shape \[8, -201\]/,
    make: (dir) =>
      model(writeModelVariant(dir, 'neg-dim.onnx', (_p, g) => (g.initializer[1].dims = [8, -W]))),
  },
  {
    name: 'sidecar that is not JSON',
    via: MODEL_COMMANDS,
    code: 'sidecar-invalid',
    message: /recmark\.json is not valid JSON/,
    make: (dir) => {
      const file = write(dir, 'sc.onnx', encodeModel(tinyModel({ items: ITEMS })));
      writeFileSync(`${file}.recmark.json`, '{ input: item_seq ');
      return model(file);
    },
  },
  {
    name: 'sidecar with an unknown key',
    via: MODEL_COMMANDS,
    code: 'sidecar-invalid',
    message: /unknown key "inputs"; allowed keys are input, output/,
    make: (dir) => {
      const file = write(dir, 'sc2.onnx', encodeModel(tinyModel({ items: ITEMS })));
      writeFileSync(`${file}.recmark.json`, JSON.stringify({ inputs: 'item_seq' }));
      return model(file);
    },
  },
  {
    name: 'sidecar naming a missing output',
    via: MODEL_COMMANDS,
    code: 'sidecar-invalid',
    message: /names output "logits", but the model has no such output; its outputs are "scores"/,
    make: (dir) => {
      const file = write(dir, 'sc3.onnx', encodeModel(tinyModel({ items: ITEMS })));
      writeFileSync(`${file}.recmark.json`, JSON.stringify({ output: 'logits' }));
      return model(file);
    },
  },
  {
    name: 'sidecar of 2 MB',
    via: MODEL_COMMANDS,
    code: 'sidecar-invalid',
    message: /larger than 1048576 bytes, so it is not a RecMark sidecar/,
    make: (dir) => {
      const file = write(dir, 'sc4.onnx', encodeModel(tinyModel({ items: ITEMS })));
      writeFileSync(`${file}.recmark.json`, ' '.repeat(2 * 1024 * 1024));
      return model(file);
    },
  },
  {
    name: 'output narrower at run time than declared',
    via: RUNNING,
    code: 'adapter-mismatch',
    message: /has shape \[\d+, 201\], expected \[\d+, 150\]/,
    make: (dir) => ({
      model: writeModelVariant(dir, 'narrow.onnx', (_p, g) =>
        setOutput(g, DataType.FLOAT, ['batch', 150]),
      ),
      key: write(dir, 'aow.wmkey.json', JSON.stringify(AOW_KEY)),
    }),
  },
  {
    name: 'float64 scores',
    via: ['verify'],
    code: 'model-unsupported',
    message: /Output "scores" is float64; RecMark reads float32 scores/,
    make: (dir) => ({
      model: writeModelVariant(dir, 'double.onnx', (_p, g) => {
        g.node[2].output[0] = 'scores32';
        g.node.push(
          onnx.NodeProto.create({
            opType: 'Cast',
            input: ['scores32'],
            output: ['scores'],
            attribute: [
              { name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.DOUBLE },
            ],
          }),
        );
        setOutput(g, DataType.DOUBLE, ['batch', W]);
      }),
      key: write(dir, 'aow.wmkey.json', JSON.stringify(AOW_KEY)),
    }),
  },
  // ---------- broken graphs ----------
  {
    name: 'cyclic graph',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /has a cycle through node/,
    make: (dir) =>
      model(writeModelVariant(dir, 'cycle.onnx', (_p, g) => (g.node[0].input[1] = 'scores'))),
  },
  {
    name: 'dangling node input',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /node "pool" reads "nowhere", which no node, input or initializer provides/,
    make: (dir) =>
      model(writeModelVariant(dir, 'dangling.onnx', (_p, g) => (g.node[1].input[0] = 'nowhere'))),
  },
  {
    name: 'graph output produced by no node',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /output "scores" is produced by no node/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'no-producer.onnx', (_p, g) => (g.node[2].output[0] = 'logits')),
      ),
  },
  {
    name: 'value produced twice',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /value "h" is produced twice/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'twice.onnx', (_p, g) => {
          g.node.push(
            onnx.NodeProto.create({ opType: 'Identity', input: ['pooled'], output: ['h'] }),
          );
        }),
      ),
  },
  {
    name: 'operator from an unknown domain',
    via: RUNNING,
    code: 'model-unloadable',
    message: /onnxruntime cannot load the model.*com\.example/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'custom-op.onnx', (_p, g) => {
          g.node[1].opType = 'Frobnicate';
          g.node[1].domain = 'com.example';
        }),
      ),
  },
  {
    name: 'unknown operator in the default domain',
    via: RUNNING,
    code: 'model-unloadable',
    message: /onnxruntime cannot load the model.*Frobnicate/,
    make: (dir) =>
      model(
        writeModelVariant(dir, 'unknown-op.onnx', (_p, g) => (g.node[1].opType = 'Frobnicate')),
      ),
  },
  {
    name: 'opset from the future',
    via: RUNNING,
    code: 'model-unloadable',
    message: /onnxruntime cannot load the model.*re-export at opset 13-17/,
    make: (dir) =>
      model(writeModelVariant(dir, 'opset99.onnx', (p) => (p.opsetImport[0].version = 99))),
  },
  // ---------- external data ----------
  {
    name: 'external data outside the folder (../)',
    via: MODEL_COMMANDS,
    code: 'model-external-escape',
    message: /"\.\.\/secret\.bin" points outside the model's folder/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-up');
      mkdirSync(sub);
      writeFileSync(path.join(dir, 'secret.bin'), new Uint8Array(W * 8 * 4));
      return model(externalModel(sub, '../secret.bin', null));
    },
  },
  {
    name: 'external data at an absolute path',
    via: MODEL_COMMANDS,
    code: 'model-external-escape',
    message: /"\/etc\/passwd" points outside the model's folder/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-abs');
      mkdirSync(sub);
      return model(externalModel(sub, '/etc/passwd', null));
    },
  },
  {
    name: 'external data through a symlink out of the folder',
    via: MODEL_COMMANDS,
    code: 'model-external-escape',
    message: /resolves outside the model's folder \(symlink\)/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-link');
      mkdirSync(sub);
      writeFileSync(path.join(dir, 'outside.bin'), new Uint8Array(W * 8 * 4));
      symlinkSync(path.join(dir, 'outside.bin'), path.join(sub, 'weights.bin'));
      return model(externalModel(sub, 'weights.bin', null));
    },
  },
  {
    name: 'external data file missing',
    via: MODEL_COMMANDS,
    code: 'model-external-missing',
    message: /"weights\.bin" referenced by the model is missing; copy it next to the \.onnx file/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-missing');
      mkdirSync(sub);
      return model(externalModel(sub, 'weights.bin', null));
    },
  },
  {
    name: 'external data shorter than the tensor',
    via: MODEL_COMMANDS,
    code: 'model-graph-invalid',
    message: /initializer "item_emb" has shape \[201, 8\] but holds 100 bytes/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-short');
      mkdirSync(sub);
      const file = externalModel(sub, 'weights.bin');
      writeFileSync(path.join(sub, 'weights.bin'), new Uint8Array(100));
      return model(file);
    },
  },
  {
    name: 'external data range beyond the file',
    via: MODEL_COMMANDS,
    code: 'model-external-missing',
    message: /asks for bytes 1000000\.\.1006432 of "weights\.bin", which has 6432 bytes/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-range');
      mkdirSync(sub);
      return model(
        writeModelVariant(sub, 'range.onnx', (_p, g) => {
          const emb = g.initializer[0];
          writeFileSync(path.join(sub, 'weights.bin'), emb.rawData!);
          emb.rawData = new Uint8Array();
          emb.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
          emb.externalData = [
            { key: 'location', value: 'weights.bin' },
            { key: 'offset', value: '1000000' },
            { key: 'length', value: String(W * 8 * 4) },
          ];
        }),
      );
    },
  },
  {
    name: 'external data location is a folder',
    via: MODEL_COMMANDS,
    code: 'model-external-missing',
    message: /"weights" is not a file/,
    make: (dir) => {
      const sub = path.join(dir, 'ext-dir');
      mkdirSync(path.join(sub, 'weights'), { recursive: true });
      return model(externalModel(sub, 'weights', null));
    },
  },
  {
    name: 'external data above the size limit',
    via: MODEL_COMMANDS,
    code: 'model-too-large',
    message: /external\.onnx needs 12\.\d KB with its external data, above the 8\.0 KB model limit/,
    env: { RECMARK_MAX_MODEL_MB: String(8 / 1024) },
    make: (dir) => {
      const sub = path.join(dir, 'ext-big');
      mkdirSync(sub);
      return model(externalModel(sub, 'weights.bin'));
    },
  },
  // ---------- key files ----------
  {
    name: 'key file that is not JSON',
    via: ['verify'],
    code: 'key-invalid',
    message: /not valid JSON/,
    make: (dir) => key(write(dir, 'k.wmkey.json', 'scheme: grew\n')),
  },
  {
    name: 'empty key file',
    via: ['verify'],
    code: 'key-invalid',
    message: /not valid JSON/,
    make: (dir) => key(write(dir, 'k.wmkey.json', '')),
  },
  {
    name: 'key file holding a JSON array',
    via: ['verify'],
    code: 'key-invalid',
    message: /must hold a JSON object with a "scheme"/,
    make: (dir) => keyJson(dir, [AOW_KEY]),
  },
  {
    name: 'key of an unknown scheme',
    via: ['verify'],
    code: 'key-invalid',
    message: /"scheme" must be "grew" or "aow", got "rot13"/,
    make: (dir) => keyJson(dir, { ...AOW_KEY, scheme: 'rot13' }),
  },
  {
    name: 'key from a future version',
    via: ['verify'],
    code: 'key-invalid',
    message: /version 7 is not supported/,
    make: (dir) => keyJson(dir, { ...grewKeyJson(), version: 7 }),
  },
  {
    name: 'GREW key with a numeric field as text',
    via: ['verify'],
    code: 'key-invalid',
    message: /"gamma" must be between 0 and 1 \(exclusive\), got "0\.5"/,
    make: (dir) => keyJson(dir, { ...grewKeyJson(), gamma: '0.5' }),
  },
  {
    name: 'GREW key for another catalogue size',
    via: ['verify'],
    code: 'key-mismatch',
    message: /made for a catalogue of 31 ids, but this model scores 201/,
    make: (dir) => keyJson(dir, grewKeyJson(grewKey(31))),
  },
  {
    name: 'GREW key with clusters of the wrong length',
    via: ['verify'],
    code: 'key-invalid',
    message: /"clusters" must be base64 of 201 uint16 values/,
    make: (dir) =>
      keyJson(dir, { ...grewKeyJson(), clusters: Buffer.alloc(10).toString('base64') }),
  },
  {
    name: 'GREW key with a cluster beyond numClusters',
    via: ['verify'],
    code: 'key-invalid',
    message: /id 1 is in cluster 9, beyond numClusters/,
    make: (dir) => {
      const k = grewKey();
      k.clusters[1] = 9;
      return keyJson(dir, grewKeyJson(k));
    },
  },
  {
    name: 'GREW key with the padding id green',
    via: ['verify'],
    code: 'key-invalid',
    message: /id 0 is green but belongs to no cluster/,
    make: (dir) => {
      const k = grewKey();
      k.green[0] = 1;
      return keyJson(dir, grewKeyJson(k));
    },
  },
  {
    name: 'GREW key with a tampered green set (an item added)',
    via: ['verify'],
    code: 'key-tampered',
    message: /cluster \d has 26 green items of 50, not γ·n = 25; the key was altered/,
    make: (dir) => {
      const k = grewKey();
      const red = k.green.findIndex((g, id) => id > 0 && g === 0);
      k.green[red] = 1;
      return keyJson(dir, grewKeyJson(k, false));
    },
  },
  {
    name: 'GREW key with a tampered green set (two items swapped)',
    via: ['verify'],
    code: 'key-tampered',
    message: /id \d+ is not in the green set its secret derives/,
    make: (dir) => {
      const k = grewKey();
      // Swap a green and a red item of cluster 1: counts stay right, only the secret can tell.
      const ids = [...k.clusters.keys()].filter((id) => k.clusters[id] === 1);
      const g = ids.find((id) => k.green[id] === 1)!;
      const r = ids.find((id) => k.green[id] === 0)!;
      k.green[g] = 0;
      k.green[r] = 1;
      return keyJson(dir, grewKeyJson(k));
    },
  },
  {
    name: 'GREW key with a malformed secret',
    via: ['verify'],
    code: 'key-invalid',
    message: /"secret" must be 64 hex digits/,
    make: (dir) => keyJson(dir, { ...grewKeyJson(), secret: 'not-hex' }),
  },
  {
    name: 'AOW key with item ids out of range',
    via: ['verify'],
    code: 'key-mismatch',
    message:
      /names 2 id\(s\) that are not items of this model \(it scores 200 items in ids 0\.\.200\)/,
    make: (dir) => keyJson(dir, { scheme: 'aow', sequence: [5, 17, 500, 99, 123456789] }),
  },
  {
    name: 'AOW key naming the padding id',
    via: ['verify'],
    code: 'key-mismatch',
    message: /names 1 id\(s\) that are not items/,
    make: (dir) => keyJson(dir, { scheme: 'aow', sequence: [5, 0, 42] }),
  },
  {
    name: 'AOW key with negative and fractional ids',
    via: ['verify'],
    code: 'key-invalid',
    message: /"sequence" must be a list of 2 to 100 non-negative item ids/,
    make: (dir) => keyJson(dir, { scheme: 'aow', sequence: [5, -1, 2.5] }),
  },
  {
    name: 'AOW key with a repeated id',
    via: ['verify'],
    code: 'key-invalid',
    message: /"sequence" repeats an item id/,
    make: (dir) => keyJson(dir, { scheme: 'aow', sequence: [5, 9, 5] }),
  },
  {
    name: 'missing key file',
    via: ['verify'],
    code: 'key-missing',
    message: /Key file not found/,
    make: (dir) => key(path.join(dir, 'nowhere.wmkey.json')),
  },
  {
    name: 'model passed as the key',
    via: ['verify'],
    code: 'key-invalid',
    message: /not valid JSON/,
    make: (_dir, good) => key(good.model),
  },
  {
    name: 'key file of 1 GiB',
    via: ['verify'],
    code: 'key-too-large',
    message: /1,073,741,824 bytes, above the 67,108,864-byte limit.*set RECMARK_MAX_KEY_MB/,
    make: (dir) => {
      const file = write(dir, 'huge.wmkey.json', '');
      truncateSync(file, 1024 ** 3); // sparse: no disk used
      return key(file);
    },
  },
  // ---------- interaction data ----------
  {
    name: 'data with an item id out of range',
    via: RUNNING,
    code: 'data-invalid',
    message: /line 4: item 5000 is not an item of this model/,
    make: (dir) => data(write(dir, 'd.txt', '1 5 0\n1 6 1\n2 7 0\n2 5000 1\n')),
  },
  {
    name: 'data naming the padding id',
    via: RUNNING,
    code: 'data-invalid',
    message: /line 2: item 0 is not an item of this model/,
    make: (dir) => data(write(dir, 'd.txt', '1 5\n1 0\n')),
  },
  {
    name: 'data with a non-numeric field',
    via: RUNNING,
    code: 'data-invalid',
    // The line is not quoted (a mistyped --data may name any file); the field is.
    message: /line 2: expected "user item \[timestamp\]" with numbers \(field 2 is not a number\)/,
    make: (dir) => data(write(dir, 'd.txt', '1 5 0\n2 seven 0\n')),
  },
  {
    name: 'data whose header names no user or item column',
    via: RUNNING,
    code: 'data-invalid',
    message: /line 1: .*found columns "who", "what", "when" — rename the user and item columns/,
    make: (dir) => data(write(dir, 'd.csv', 'who,what,when\n1,5,0\n')),
  },
  {
    name: 'data with raw ids and no id map',
    via: RUNNING,
    code: 'data-invalid',
    message: /line 2: item 193609 is not an item of this model.*--id-map FILE/,
    make: (dir) => data(write(dir, 'r.csv', 'userId,movieId,rating,timestamp\n1,193609,4.0,1\n')),
  },
  {
    name: 'data with a fractional item id',
    via: RUNNING,
    code: 'data-invalid',
    message: /line 1: item 5\.5 is not an item/,
    make: (dir) => data(write(dir, 'd.txt', '1 5.5\n1 6\n')),
  },
  {
    name: 'data with a user but no item',
    via: RUNNING,
    code: 'data-invalid',
    message: /line 2: expected at least "user item"/,
    make: (dir) => data(write(dir, 'd.txt', '1 5\n2\n')),
  },
  {
    name: 'data where no user has two interactions',
    via: ['embed'],
    code: 'data-invalid',
    message: /no user with two or more interactions/,
    make: (dir) => data(write(dir, 'd.txt', '1 5\n2 6\n3 7\n')),
  },
  {
    name: 'empty data file',
    via: RUNNING,
    code: 'data-invalid',
    message: /holds no interactions/,
    make: (dir) => data(write(dir, 'd.txt', '')),
  },
  {
    name: 'data file with only a header',
    via: RUNNING,
    code: 'data-invalid',
    message: /holds no interactions/,
    make: (dir) => data(write(dir, 'd.txt', 'user_id item_id timestamp\n\n\n')),
  },
  {
    name: 'binary data file',
    via: RUNNING,
    code: 'data-invalid',
    message: /expected "user item \[timestamp\]" with numbers/,
    make: (_dir, good) => data(good.model),
  },
  {
    name: 'data file of 10^7 lines',
    via: RUNNING,
    code: 'data-too-large',
    message: /more than 5,000,000 lines; sample users or split it, or set RECMARK_MAX_DATA_LINES/,
    make: () => data(tenMillionLineFile()),
  },
  {
    name: 'missing data file',
    via: RUNNING,
    code: 'data-missing',
    message: /Data file not found/,
    make: (dir) => data(path.join(dir, 'nowhere.txt')),
  },
  {
    name: 'data path is a folder',
    via: RUNNING,
    code: 'data-missing',
    message: /Data file .*data-folder is a folder; pass a regular file/,
    make: (dir) => {
      mkdirSync(path.join(dir, 'data-folder'));
      return data(path.join(dir, 'data-folder'));
    },
  },
  // ---------- limits on the work asked for ----------
  {
    name: 'probes above the limit',
    via: ['verify'],
    code: 'probes-too-many',
    message: /2,000,000 probes is above the 1,000,000-probe limit.*set RECMARK_MAX_PROBES/,
    args: ['--probes', '2000000'],
    make: () => ({}),
  },
  {
    name: 'an unknown GREW mode',
    via: ['embed'],
    code: 'usage',
    message: /--mode must be "weights" or "serve", got "graph"/,
    args: ['--mode', 'graph'],
    make: () => ({}),
  },
  {
    name: 'a training step cap of zero',
    via: ['embed'],
    code: 'usage',
    message: /max-steps must be an integer from 1 to 1000000, got 0/,
    args: ['--mode', 'weights', '--max-steps', '0'],
    make: () => ({}),
  },
  {
    name: 'a limit set to nonsense in the environment',
    via: MODEL_COMMANDS,
    code: 'usage',
    message: /RECMARK_MAX_ITEMS must be a positive number, got "lots"/,
    env: { RECMARK_MAX_ITEMS: 'lots' },
    make: () => ({}),
  },
];

/** The command line a user would type; later options win, so `extra` overrides defaults. */
function argv(
  command: Command,
  inputs: Inputs,
  out: string,
  extra: string[],
  report = true,
): string[] {
  const dataArgs = inputs.data ? ['--data', inputs.data] : [];
  if (command === 'inspect') return ['inspect', inputs.model, '--json', ...extra];
  if (command === 'verify') {
    const html = report ? ['--report-html', path.join(out, 'report.html')] : [];
    const small = ['--probes', '100', '--null-keys', '20'];
    return [
      'verify',
      inputs.model,
      '--key',
      inputs.key,
      ...dataArgs,
      ...small,
      ...html,
      '--json',
      ...extra,
    ];
  }
  const outputs = [
    '--out',
    path.join(out, 'marked.onnx'),
    '--key-out',
    path.join(out, 'marked.wmkey.json'),
  ];
  // A served head: the corpus is about inputs, and a random synthetic model has no ranking for a
  // watermark in the weights to learn (its student stalls near z_w 2), so the control could not pass.
  const mode = ['--mode', 'serve'];
  return ['embed', 'grew', inputs.model, ...outputs, ...dataArgs, ...mode, '--json', ...extra];
}

interface Prepared {
  inputs: Inputs;
  out: string;
}

function prepare(c: Case): Prepared {
  const dir = tempDir('recmark-corpus-');
  const good = writeGoodInputs(dir);
  const broken = c.make(dir, good);
  const out = path.join(dir, 'out');
  mkdirSync(out);
  return { inputs: { model: good.model, key: good.grewKey, ...broken }, out };
}

async function withEnv<T>(
  env: Record<string, string> | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const snapshot = (file: string | undefined): Buffer | null =>
  file && existsSync(file) && !file.endsWith('ten-million.txt') && !/huge/.test(file)
    ? (() => {
        try {
          return readFileSync(file);
        } catch {
          return null; // a folder
        }
      })()
    : null;

test('control: the good inputs pass every command, so each case fails only by its change', async () => {
  const dir = tempDir('recmark-corpus-');
  const good = writeGoodInputs(dir);
  const out = path.join(dir, 'out');
  mkdirSync(out);
  const quiet = process.stdout.write;
  process.stdout.write = () => true;
  try {
    assert.equal(await run(argv('inspect', { model: good.model, key: good.grewKey }, out, [])), 0);
    for (const k of [good.grewKey, good.aowKey]) {
      assert.equal(
        await run(argv('verify', { model: good.model, key: k, data: good.data }, out, [], false)),
        0,
      );
    }
    const embed = argv('embed', { model: good.model, key: good.grewKey, data: good.data }, out, []);
    assert.equal(await run(embed), 0);
  } finally {
    process.stdout.write = quiet;
  }
  assert.deepEqual(readdirSync(out).sort(), ['marked.onnx', 'marked.wmkey.json']);
});

for (const c of CASES) {
  test(`${c.name} → ${c.code}`, async () => {
    const { inputs, out } = prepare(c);
    const before = [snapshot(inputs.model), snapshot(inputs.key), snapshot(inputs.data)];
    for (const command of c.via) {
      const args = argv(command, inputs, out, c.args ?? []);
      await withEnv(c.env, () =>
        assert.rejects(run(args), (err: unknown) => {
          assert.ok(
            err instanceof RecMarkError,
            `${command}: expected a RecMarkError, got ${err instanceof Error ? err.stack : String(err)}`,
          );
          assert.equal(err.code, c.code, `${command}: ${err.message}`);
          assert.match(err.message, c.message, `${command}`);
          return true;
        }),
      );
      assert.deepEqual(readdirSync(out), [], `${command} wrote into the output folder`);
    }
    assert.deepEqual(
      [snapshot(inputs.model), snapshot(inputs.key), snapshot(inputs.data)],
      before,
      'an input file changed',
    );
  });
}

test('the corpus has at least 40 cases, each with a stable code', () => {
  assert.ok(CASES.length >= 40, `${CASES.length} cases`);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  for (const c of CASES) assert.match(c.code, /^[a-z]+(-[a-z]+)*$/);
});

/** Through the real CLI process: exit code 2, one line on stderr, no stack trace, no output. */
const REAL_PROCESS: [string, Command][] = [
  ['zero-byte model file', 'inspect'],
  ['declared catalogue of 2^40 items', 'embed'],
  ['cyclic graph', 'verify'],
  ['external data outside the folder (../)', 'inspect'],
  ['GREW key with a tampered green set (two items swapped)', 'verify'],
  ['data file of 10^7 lines', 'embed'],
  ['initializer declaring 2^40 rows', 'embed'],
];

for (const [name, command] of REAL_PROCESS) {
  test(`real CLI process: ${name} (${command}) exits 2 with one line and no stack`, async () => {
    const c = CASES.find((x) => x.name === name)!;
    const { inputs, out } = prepare(c);
    const { code, stdout, stderr } = await runCli(argv(command, inputs, out, c.args ?? []));
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
    assert.match(stderr, /^recmark: /);
    assert.doesNotMatch(stderr, /\bat .*\(.*:\d+:\d+\)|internal error/);
    assert.match(stderr, c.message);
    assert.deepEqual(readdirSync(out), []);
  });
}
