/**
 * Red-team cases for issue 15's "outputs", "resources" and "options" areas: outputs that would
 * clobber an input or an existing file, inputs that never end or would exhaust memory, and
 * options that would produce a useless key. Every refusal must come before any real work, so
 * each case runs in the time of a CLI start and a model read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeModel, graphOf, onnx } from '../../../src/core/onnx/model';
import { writeGoodInputs, type EditableGraph } from '../../support/corpusInputs';
import { tinyModel } from '../../support/tinyModel';
import type { CaseFactory } from './harness';

const { DataType } = onnx.TensorProto;

/** An int64 initializer: the shape, repeats or pads a hostile node reads. */
function int64s(name: string, values: number[]): onnx.TensorProto {
  const data = new BigInt64Array(values.map(BigInt));
  return onnx.TensorProto.create({
    name,
    dims: [values.length],
    dataType: DataType.INT64,
    rawData: new Uint8Array(data.buffer),
  });
}

/**
 * A ~1-KiB recommender with one extra node whose constant input asks for 10 GiB (2^32 floats
 * and more): the read must refuse it, naming the limit, before a session could run it.
 */
function bombModel(dir: string, op: 'ConstantOfShape' | 'Expand' | 'Tile'): string {
  const proto = tinyModel({ items: 12, dim: 4, seqLen: 4 });
  const graph = graphOf(proto) as EditableGraph;
  // Each asks for about 2.7e9 float32 elements (10 GiB); item_emb is [13, 4].
  const inputs = {
    ConstantOfShape: ['bomb_shape'],
    Expand: ['item_emb', 'bomb_broadcast'],
    Tile: ['item_emb', 'bomb_repeats'],
  }[op];
  graph.initializer.push(
    int64s('bomb_shape', [65536, 40960]),
    int64s('bomb_broadcast', [52428800, 13, 4]),
    int64s('bomb_repeats', [8192, 6400]),
  );
  graph.node.push(
    onnx.NodeProto.create({ opType: op, input: inputs, output: ['bomb'], name: `bomb_${op}` }),
  );
  const file = path.join(dir, `bomb-${op}.onnx`);
  writeFileSync(file, encodeModel(proto));
  return file;
}

/** A tiny model of `items` items, for the options that a small catalogue cannot honour. */
function smallModel(dir: string, items: number): string {
  const file = path.join(dir, `items${items}.onnx`);
  writeFileSync(file, encodeModel(tinyModel({ items, dim: 4, seqLen: 6 })));
  return file;
}

/** A minimal endpoint profile whose id map is `idMapFile` (never contacted: refused first). */
function profileWith(dir: string, idMapFile: string): string {
  const file = path.join(dir, 'svc.recmark-endpoint.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'svc',
      url: 'http://127.0.0.1:9/recommend',
      request: { items: '${items}', k: '${k}' },
      response: { items: '$.items' },
      numItems: 200,
      idMap: { file: idMapFile, modelColumn: 'index', serviceColumn: 'movieId' },
    }),
  );
  return file;
}

const SECRET_LINE = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI-redteam-K7MDENG';

const outputs: CaseFactory[] = [
  {
    area: 'outputs',
    name: '--out is the model itself, even with --force',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      return {
        args: ['attack', 'quantize', model, '--out', model, '--force'],
        exit: 2,
        message:
          /--out .*good\.onnx is the input .*good\.onnx; RecMark never writes over its inputs/,
        unchanged: [model],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: '--out is the data file',
    make: async (dir) => {
      const { model, data } = writeGoodInputs(dir);
      return {
        args: ['attack', 'prune', model, '--fraction', '0.2', '--data', data, '--out', data],
        exit: 2,
        message: /--out .*good\.txt is the input/,
        unchanged: [model, data],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: '--out is a symlink to the key, with --force',
    make: async (dir) => {
      const { model, grewKey } = writeGoodInputs(dir);
      const link = path.join(dir, 'innocent.onnx');
      symlinkSync(grewKey, link);
      return {
        args: ['attack', 'overwrite', model, '--scheme', 'grew', '--key', grewKey, '--out', link],
        exit: 2,
        message: /--out .*innocent\.onnx is the input .*good\.wmkey\.json/,
        unchanged: [model, grewKey],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: '--out is a hard link to the model, with --force',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const link = path.join(dir, 'copy.onnx');
      linkSync(model, link);
      return {
        args: ['attack', 'strip', model, '--out', link, '--force'],
        exit: 2,
        message: /--out .*copy\.onnx is the input .*good\.onnx/,
        unchanged: [model, link],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: 'an existing --out without --force is left as it is',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const out = path.join(dir, 'previous.onnx');
      writeFileSync(out, 'the previous output');
      return {
        args: ['attack', 'quantize', model, '--out', out],
        exit: 2,
        message: /--out .*previous\.onnx already exists; pass --force to replace it/,
        unchanged: [model, out],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: 'an existing --out with --force is replaced',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const out = path.join(dir, 'previous.onnx');
      writeFileSync(out, 'the previous output');
      return {
        args: ['attack', 'quantize', model, '--out', out, '--force'],
        exit: 0,
        message: /Quantized model: .*previous\.onnx/,
        unchanged: [model],
        rssMiB: 512,
        // The harness checks what must stay; what must change is checked here, after the run.
        cleanup: async () => {
          assert.notEqual(readFileSync(out, 'utf8'), 'the previous output', 'out was replaced');
        },
      };
    },
  },
  {
    area: 'outputs',
    name: '--out is a folder',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const out = path.join(dir, 'models');
      mkdirSync(out);
      return {
        args: ['attack', 'quantize', model, '--out', out, '--force'],
        exit: 2,
        message: /--out .*models is a folder; name a file in it/,
        unchanged: [model],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: '--out in a missing folder is refused before any training',
    make: async (dir) => {
      const { model, data } = writeGoodInputs(dir);
      const keyOut = path.join(dir, 'marked.wmkey.json');
      return {
        args: [
          'embed',
          'grew',
          model,
          '--data',
          data,
          '--out',
          path.join(dir, 'no', 'such', 'marked.onnx'),
          '--key-out',
          keyOut,
        ],
        exit: 2,
        message: /the folder .*no\/such does not exist; create it/,
        unchanged: [model, data],
        absent: [keyOut],
        rssMiB: 400,
        // Weights-mode training takes far longer than this: the refusal came first.
        timeoutMs: 20_000,
      };
    },
  },
  {
    area: 'outputs',
    name: '--report-html onto the model is refused before verifying',
    make: async (dir) => {
      const { model, grewKey } = writeGoodInputs(dir);
      return {
        args: ['verify', model, '--key', grewKey, '--report-html', model, '--force'],
        exit: 2,
        message: /--report-html .*good\.onnx is the input/,
        unchanged: [model, grewKey],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'outputs',
    name: 'an existing --report-html without --force is left as it is',
    make: async (dir) => {
      const { model, grewKey } = writeGoodInputs(dir);
      const html = path.join(dir, 'audit.html');
      writeFileSync(html, '<p>last week</p>');
      return {
        args: ['verify', model, '--key', grewKey, '--report-html', html],
        exit: 2,
        message: /--report-html .*audit\.html already exists; pass --force/,
        unchanged: [model, grewKey, html],
        rssMiB: 400,
      };
    },
  },
];

const resources: CaseFactory[] = [
  {
    area: 'resources',
    name: '/dev/zero as the model is refused before reading',
    make: async () => ({
      args: ['inspect', '/dev/zero'],
      exit: 2,
      message: /Model file \/dev\/zero is a device; pass a regular file/,
      rssMiB: 300,
      timeoutMs: 15_000,
    }),
  },
  {
    area: 'resources',
    name: 'a symlink to /dev/urandom as the model',
    make: async (dir) => {
      const link = path.join(dir, 'model.onnx');
      symlinkSync('/dev/urandom', link);
      return {
        args: ['inspect', link],
        exit: 2,
        message: /Model file .*model\.onnx is a device/,
        rssMiB: 300,
        timeoutMs: 15_000,
      };
    },
  },
  {
    area: 'resources',
    name: '/dev/zero as the data file',
    make: async (dir) => {
      const { model, grewKey } = writeGoodInputs(dir);
      return {
        args: ['verify', model, '--key', grewKey, '--data', '/dev/zero', '--json'],
        exit: 2,
        message: /Data file \/dev\/zero is a device/,
        unchanged: [model, grewKey],
        rssMiB: 400,
        timeoutMs: 15_000,
      };
    },
  },
  {
    area: 'resources',
    name: '/dev/zero as the key file',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      return {
        args: ['verify', model, '--key', '/dev/zero'],
        exit: 2,
        message: /Key file \/dev\/zero is a device/,
        rssMiB: 300,
        timeoutMs: 15_000,
      };
    },
  },
  {
    area: 'resources',
    name: 'a FIFO as the data file does not hang',
    make: async (dir) => {
      const { model, grewKey } = writeGoodInputs(dir);
      const fifo = path.join(dir, 'data.fifo');
      execFileSync('mkfifo', [fifo]);
      return {
        args: ['verify', model, '--key', grewKey, '--data', fifo, '--json'],
        exit: 2,
        message: /Data file .*data\.fifo is a named pipe \(FIFO\); pass a regular file/,
        rssMiB: 400,
        timeoutMs: 15_000,
      };
    },
  },
  ...(['ConstantOfShape', 'Tile'] as const).map((op): CaseFactory => ({
    area: 'resources',
    name: `a 1-KiB model whose ${op} would allocate 10 GiB is refused before a session`,
    make: async (dir) => {
      const { grewKey } = writeGoodInputs(dir);
      const model = bombModel(dir, op);
      return {
        args: ['verify', model, '--key', grewKey, '--json'],
        exit: 2,
        message: new RegExp(
          `node "bomb_${op}" \\(${op}\\) would build a tensor of [\\d,]+ elements, above the limit of 268,435,456 elements.*RECMARK_MAX_SHAPE_ELEMENTS`,
        ),
        unchanged: [model],
        rssMiB: 300,
      };
    },
  })),
  {
    area: 'resources',
    name: "an id map outside the profile's folder is refused, its content never quoted",
    make: async (dir) => {
      const outside = path.join(dir, 'private');
      mkdirSync(outside);
      writeFileSync(path.join(outside, 'map.csv'), `index,movieId\n${SECRET_LINE}\n`);
      const profileDir = path.join(dir, 'profiles');
      mkdirSync(profileDir);
      const profile = profileWith(profileDir, '../private/map.csv');
      const { grewKey } = writeGoodInputs(dir);
      return {
        args: ['verify', '--endpoint', profile, '--key', grewKey, '--no-cache', '--json'],
        exit: 2,
        message: /idMap.*in its folder or below \(no "\.\.", no absolute path\)/,
        secrets: [SECRET_LINE, 'wJalrXUtnFEMI'],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'resources',
    name: "an id map symlinked out of the profile's folder",
    make: async (dir) => {
      const profileDir = path.join(dir, 'profiles');
      mkdirSync(profileDir);
      symlinkSync('/etc/passwd', path.join(profileDir, 'map.csv'));
      const profile = profileWith(profileDir, 'map.csv');
      const { grewKey } = writeGoodInputs(dir);
      return {
        args: ['verify', '--endpoint', profile, '--key', grewKey, '--no-cache', '--json'],
        exit: 2,
        message: /the id map .*map\.csv resolves outside the profile's folder \(symlink\)/,
        secrets: ['root:x:0:0'],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'resources',
    name: 'an id map above its size limit is refused before reading',
    make: async (dir) => {
      const profileDir = path.join(dir, 'profiles');
      mkdirSync(profileDir);
      const rows = Array.from({ length: 5000 }, (_, i) => `${i + 1},m${i + 1}`);
      writeFileSync(path.join(profileDir, 'map.csv'), `index,movieId\n${rows.join('\n')}\n`);
      const profile = profileWith(profileDir, 'map.csv');
      const { grewKey } = writeGoodInputs(dir);
      return {
        args: ['verify', '--endpoint', profile, '--key', grewKey, '--no-cache', '--json'],
        env: { RECMARK_MAX_ID_MAP_MB: '0.01' },
        exit: 2,
        message: /above the 10,485-byte limit for id maps; set RECMARK_MAX_ID_MAP_MB/,
        rssMiB: 400,
      };
    },
  },
  {
    area: 'resources',
    name: 'a --key that is a file of secrets: the message does not quote it',
    make: async (dir) => {
      const { model } = writeGoodInputs(dir);
      const env = path.join(dir, 'prod.env');
      writeFileSync(env, `# production\n${SECRET_LINE}\nDB_PASSWORD=hunter2-redteam\n`);
      return {
        args: ['verify', model, '--key', env],
        exit: 2,
        message: /Key file .*prod\.env: not valid JSON/,
        unchanged: [env],
        secrets: [SECRET_LINE, 'wJalrXUtnFEMI', 'hunter2-redteam', 'production'],
        rssMiB: 400,
      };
    },
  },
  {
    area: 'resources',
    name: 'a --data that is a file of secrets: the bad line is not quoted',
    make: async (dir) => {
      const { model, grewKey } = writeGoodInputs(dir);
      const env = path.join(dir, 'prod.env');
      writeFileSync(env, `user item\n${SECRET_LINE}\nDB_PASSWORD=hunter2-redteam\n`);
      return {
        args: ['verify', model, '--key', grewKey, '--data', env, '--json'],
        exit: 2,
        // "user item" reads as a whitespace header; the secret line is counted, never quoted.
        message: /prod\.env line 2: expected the header's 2 columns, found 1/,
        secrets: [SECRET_LINE, 'wJalrXUtnFEMI', 'hunter2-redteam'],
        rssMiB: 400,
      };
    },
  },
];

/** `embed grew` on `model` with `extra` options; the outputs must not appear. */
function grewRefused(
  name: string,
  extra: string[],
  message: RegExp,
  modelOf: (dir: string) => string = (dir) => writeGoodInputs(dir).model,
): CaseFactory {
  return {
    area: 'options',
    name,
    make: async (dir) => {
      const model = modelOf(dir);
      const out = path.join(dir, 'marked.onnx');
      const keyOut = path.join(dir, 'marked.wmkey.json');
      return {
        args: ['embed', 'grew', model, '--out', out, '--key-out', keyOut, ...extra, '--json'],
        exit: 2,
        message,
        unchanged: [model],
        absent: [out, keyOut],
        rssMiB: 400,
      };
    },
  };
}

function aowRefused(
  name: string,
  model: (dir: string) => string,
  extra: string[],
  message: RegExp,
) {
  return {
    area: 'options',
    name,
    make: async (dir: string) => {
      const file = model(dir);
      const out = path.join(dir, 'marked.onnx');
      const keyOut = path.join(dir, 'marked.wmkey.json');
      return {
        args: ['embed', 'aow', file, '--out', out, '--key-out', keyOut, ...extra, '--json'],
        exit: 2,
        message,
        unchanged: [file],
        absent: [out, keyOut],
        rssMiB: 400,
      };
    },
  } satisfies CaseFactory;
}

const options: CaseFactory[] = [
  grewRefused(
    'GREW with more clusters than the catalogue can fill',
    ['--clusters', '150'],
    /--clusters 150 does not fit this 200-item catalogue.*use --clusters from 2 to 100/,
  ),
  grewRefused(
    'GREW with one cluster',
    ['--clusters', '1'],
    /--clusters 1 does not fit .*one cluster is no semantic split/,
  ),
  grewRefused(
    'γ so small no item is green',
    ['--gamma', '0.001'],
    /γ = 0\.001 puts no item in the green set of this 200-item catalogue; use γ ≥ 0\.005/,
  ),
  grewRefused(
    'γ so large no item is red',
    ['--gamma', '0.999'],
    /γ = 0\.999 puts no item in the red set of this 200-item catalogue; use γ ≤ 0\.995/,
  ),
  grewRefused(
    'a protected head as large as Kc leaves nothing to bias',
    ['--kc', '10', '--protect-head', '10'],
    /--protect-head 10 with --kc 10 leaves nothing in the top-10 to bias; use --protect-head from 0 to 9/,
  ),
  grewRefused(
    'GREW on a 12-item model',
    [],
    /This model scores 12 items; GREW is read from top-20 lists/,
    (dir) => smallModel(dir, 12),
  ),
  aowRefused(
    'AOW longer than a 3-item catalogue',
    (dir) => smallModel(dir, 3),
    ['--length', '5'],
    /A 5-item AOW watermark needs at least 6 items, and this catalogue has 3; use --length 2\./,
  ),
  aowRefused(
    'AOW drawing from more lowest-scored items than exist',
    (dir) => writeGoodInputs(dir).model,
    ['--bottom-m', '500'],
    /--bottom-m 500 asks for the 500 lowest-scored items, but this 200-item catalogue has 195 left/,
  ),
];

export const cases: CaseFactory[] = [...outputs, ...resources, ...options];
