/**
 * Issue 15, areas "terminal" and "evidence". Terminal: controls in model metadata, file names,
 * key ids and arguments reach no terminal raw (they print escaped, core/util/terminalSafe).
 * Evidence: zero trials, NaN or infinite or all-equal scores give no verdict (INCONCLUSIVE with
 * the reason, or a refusal), never ABSENT and never PRESENT.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeModel } from '../../../src/core/onnx/model';
import { NOT_AN_ITEM } from '../../../src/core/watermark/key';
import {
  goodData,
  grewKey,
  grewKeyJson,
  ITEMS,
  writeGoodInputs,
  writeModelVariant,
  type EditableGraph,
} from '../../support/corpusInputs';
import { floatTensor, tinyModel } from '../../support/tinyModel';
import type { CaseFactory } from './harness';

const DIM = 8;
/** A quick audit: few probes and null keys, on the data file (no probe sampling). */
const QUICK = ['--probes', '40', '--null-keys', '20'];

/** The good model with its output projection (and optionally its embeddings) set to constants. */
function constantModel(dir: string, name: string, proj: number, emb?: number): string {
  return writeModelVariant(dir, name, (_proto, graph: EditableGraph) => {
    const fill = (tensor: string, dims: number[], value: number) => {
      const i = graph.initializer.findIndex((t) => t.name === tensor);
      const size = dims[0] * dims[1];
      graph.initializer[i] = floatTensor(tensor, dims, new Float32Array(size).fill(value));
    };
    fill('proj', [DIM, ITEMS + 1], proj);
    if (emb !== undefined) fill('item_emb', [ITEMS + 1, DIM], emb);
  });
}

/** Exit 0 with an INCONCLUSIVE verdict whose reason matches; never ABSENT or PRESENT. */
const inconclusive = (reason: string): RegExp =>
  new RegExp(`^INCONCLUSIVE {2}\\(\\w+, p = —[^\\n]*\\nNo verdict: [^\\n]*${reason}`);

const terminal: CaseFactory[] = [
  {
    area: 'terminal',
    name: 'inspect: a producer name with ESC[2J and an OSC 52 clipboard write prints escaped',
    make: async (dir) => {
      const model = writeModelVariant(dir, 'producer.onnx', (proto) => {
        proto.producerName = '\x1b[2J\x1b[H\x1b]52;c;cm0gLXJmIH4K\x07evil';
        proto.docString = 'doc \x1b[31mred\x1b[0m \u009b2J';
      });
      return {
        args: ['inspect', model],
        exit: 0,
        message: /^Producer\s+\\x1b\[2J\\x1b\[H\\x1b\]52;c;cm0gLXJmIH4K\\x07evil, IR/m,
        noControls: true,
        unchanged: [model],
      };
    },
  },
  {
    area: 'terminal',
    name: 'inspect: a bidi override in the graph input name prints as \\u202e',
    make: async (dir) => {
      const model = path.join(dir, 'bidi.onnx');
      writeFileSync(
        model,
        encodeModel(tinyModel({ items: ITEMS, inputName: 'item_\u202eqes\u2066x\u2069' })),
      );
      return {
        args: ['inspect', model],
        exit: 0,
        message: /^Input\s+item_\\u202eqes\\u2066x\\u2069 int64/m,
        noControls: true,
      };
    },
  },
  {
    area: 'terminal',
    name: 'inspect --json: an OSC 8 link and U+202E in the producer are escaped in the JSON',
    make: async (dir) => {
      const model = writeModelVariant(dir, 'json.onnx', (proto) => {
        proto.producerName = '\x1b]8;;https://evil.example\x07torch\x1b]8;;\x07 \u202eexe.';
      });
      return {
        args: ['inspect', model, '--json'],
        exit: 0,
        message:
          /"producer":"\\u001b\]8;;https:\/\/evil\.example\\u0007torch\\u001b\]8;;\\u0007 \\u202eexe\./,
        noControls: true,
      };
    },
  },
  {
    area: 'terminal',
    name: 'a model file name with an ESC sequence and BEL is named escaped in the error',
    make: async (dir) => {
      const model = path.join(dir, 'evil\x1b[2J\x07.onnx');
      writeFileSync(model, 'not a model');
      return {
        args: ['inspect', model],
        exit: 2,
        message: /evil\\x1b\[2J\\x07\.onnx/,
        noControls: true,
        unchanged: [model],
      };
    },
  },
  {
    area: 'terminal',
    name: 'a key file name with CR cannot overwrite the error line with a fake verdict',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const key = path.join(dir, 'k\rPRESENT  (GREW, p = 1e-300)\x1b[K.wmkey.json');
      writeFileSync(key, 'not json');
      return {
        args: ['verify', model, '--key', key],
        exit: 2,
        message: /k\\x0dPRESENT {2}\(GREW, p = 1e-300\)\\x1b\[K\.wmkey\.json/,
        noControls: true,
        unchanged: [key],
      };
    },
  },
  {
    area: 'terminal',
    name: 'verify: a key id with controls and a newline in the model name forge no line',
    make: async (dir) => {
      const inputs = writeGoodInputs(dir);
      const model = path.join(dir, 'm\nPRESENT  (GREW, p = 1e-300)\u2028.onnx');
      writeFileSync(model, encodeModel(tinyModel({ items: ITEMS, dim: DIM, seqLen: 10 })));
      const key = path.join(dir, 'label.wmkey.json');
      writeFileSync(
        key,
        JSON.stringify({ ...grewKeyJson(), keyId: 'id\x1b]8;;https://x\x07\b\b\u0085' }),
      );
      return {
        args: ['verify', model, '--key', key, '--data', inputs.data, ...QUICK],
        exit: 0,
        message:
          // The hostile id itself is replaced on load by a one-way id (issue 15, identifiers).
          /^model m\\x0aPRESENT {2}\(GREW, p = 1e-300\)\\u2028\.onnx sha256 .*key id [0-9a-f]{16}$/m,
        noControls: true,
      };
    },
  },
  {
    area: 'terminal',
    name: 'verify --json: U+202E and C1 in the file name are \\u-escaped, the JSON still parses',
    make: async (dir) => {
      const inputs = writeGoodInputs(dir);
      const model = path.join(dir, 'suspect\u202ex\u0085nnx.onnx');
      writeFileSync(model, encodeModel(tinyModel({ items: ITEMS, dim: DIM, seqLen: 10 })));
      return {
        args: ['verify', model, '--key', inputs.grewKey, '--data', inputs.data, ...QUICK, '--json'],
        exit: 0,
        message: /"fileName":"suspect\\u202ex\\u0085nnx\.onnx"/,
        noControls: true,
      };
    },
  },
  {
    area: 'terminal',
    name: 'an unknown command and an option value with CSI (ESC and C1) print escaped',
    make: async () => ({
      args: ['inspect', 'm.onnx', '--probes\x1b[2J\u009b1A'],
      exit: 2,
      message: /--probes\\x1b\[2J\\x9b1A/,
      noControls: true,
    }),
  },
];

const evidence: CaseFactory[] = [
  {
    area: 'evidence',
    name: 'GREW on a model whose scores are NaN for every probe: INCONCLUSIVE, not ABSENT',
    make: async (dir) => {
      const { grewKey: key, data } = writeGoodInputs(dir);
      const model = constantModel(dir, 'nan.onnx', Number.NaN);
      return {
        args: ['verify', model, '--key', key, '--data', data, ...QUICK],
        exit: 0,
        message: inconclusive('not numbers \\(NaN\\) for every probe'),
      };
    },
  },
  {
    area: 'evidence',
    name: 'AOW on a NaN-scoring model: INCONCLUSIVE for every watermark prefix',
    make: async (dir) => {
      const { aowKey } = writeGoodInputs(dir);
      const model = constantModel(dir, 'nan-aow.onnx', Number.NaN);
      return {
        args: ['verify', model, '--key', aowKey],
        exit: 0,
        message: inconclusive('not numbers \\(NaN\\) for every watermark prefix'),
      };
    },
  },
  {
    area: 'evidence',
    name: 'GREW on a model that scores every item +Infinity: INCONCLUSIVE (it ranks nothing)',
    make: async (dir) => {
      const { grewKey: key, data } = writeGoodInputs(dir);
      const model = constantModel(dir, 'inf.onnx', Number.POSITIVE_INFINITY, 1);
      return {
        args: ['verify', model, '--key', key, '--data', data, ...QUICK],
        exit: 0,
        message: inconclusive('same score \\(constant or infinite\\) for every probe'),
      };
    },
  },
  {
    area: 'evidence',
    name: 'AOW on a model whose scores all tie: INCONCLUSIVE, not ABSENT by pessimistic ranks',
    make: async (dir) => {
      const { aowKey } = writeGoodInputs(dir);
      const model = constantModel(dir, 'ties.onnx', 0);
      return {
        args: ['verify', model, '--key', aowKey, '--json'],
        exit: 0,
        message:
          /"verdict":"inconclusive".*"noEvidence":"the model gives every item the same score/,
      };
    },
  },
  {
    area: 'evidence',
    name: 'a GREW key that knows none of the model items: zero trials, INCONCLUSIVE',
    make: async (dir) => {
      const { model, data } = writeGoodInputs(dir);
      const foreign = grewKey();
      foreign.clusters.fill(NOT_AN_ITEM);
      foreign.green.fill(0);
      foreign.numItems = 0;
      const key = path.join(dir, 'foreign.wmkey.json');
      writeFileSync(key, JSON.stringify(grewKeyJson(foreign)));
      return {
        args: ['verify', model, '--key', key, '--data', data, ...QUICK],
        exit: 0,
        message: inconclusive('zero trials'),
      };
    },
  },
  {
    area: 'evidence',
    name: 'an AOW key whose sequence items the model does not know is refused',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const key = path.join(dir, 'unknown-aow.wmkey.json');
      writeFileSync(key, JSON.stringify({ scheme: 'aow', sequence: [5000, 5001, 5002, 5003] }));
      return {
        // --json: no progress lines, so stderr is the one refusal line.
        args: ['verify', model, '--key', key, '--json'],
        exit: 2,
        message: /4 id\(s\) that are not items of this model/,
      };
    },
  },
  {
    area: 'evidence',
    name: 'a data file with no usable history gives no probes: refused, no verdict',
    make: async (dir) => {
      const { model, grewKey: key } = writeGoodInputs(dir);
      const data = path.join(dir, 'empty.txt');
      writeFileSync(data, `${goodData().split('\n')[0]}\n`);
      return {
        args: ['verify', model, '--key', key, '--data', data, ...QUICK, '--json'],
        exit: 2,
        message: /holds no interactions/,
        unchanged: [data],
      };
    },
  },
];

export const cases: CaseFactory[] = [...terminal, ...evidence];
