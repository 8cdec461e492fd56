/**
 * Known-good inputs for the bad-input corpus and the fuzz test: a tiny recommender, GREW and AOW
 * keys that fit it, and an interaction file. Every broken input is one of these with one thing
 * changed, so a rejection can only come from that change.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeModel, graphOf, onnx } from '../../src/core/onnx/model';
import {
  greenFromClusters,
  keyIdOf,
  NOT_AN_ITEM,
  type GrewKey,
} from '../../src/core/watermark/key';
import { keyToJson } from '../../src/core/watermark/keyJson';
import { tinyModel } from './tinyModel';

/** Enough items for GREW's defaults (Kc = 50, protected head 10). */
export const ITEMS = 200;
export const SECRET = Buffer.alloc(32, 7);

export function goodModel(): onnx.ModelProto {
  return tinyModel({ items: ITEMS, dim: 8, seqLen: 10 });
}

/** A GREW key for a catalogue of `scoreWidth` ids (pad 0), four clusters, the real γ split. */
export function grewKey(scoreWidth = ITEMS + 1): GrewKey {
  const clusters = new Uint16Array(scoreWidth);
  clusters[0] = NOT_AN_ITEM;
  for (let id = 1; id < scoreWidth; id++) clusters[id] = id % 4;
  return {
    scheme: 'grew',
    version: 1,
    keyId: keyIdOf(SECRET),
    gamma: 0.5,
    delta: 1,
    kc: 50,
    protectHead: 10,
    topK: 20,
    scoreWidth,
    numItems: scoreWidth - 1,
    numClusters: 4,
    clusters,
    green: greenFromClusters(clusters, SECRET, 0.5),
    secret: SECRET,
  };
}

export function grewKeyJson(key: GrewKey = grewKey(), withSecret = true): Record<string, unknown> {
  return keyToJson(key, withSecret);
}

export const AOW_KEY = { scheme: 'aow', sequence: [5, 17, 42, 99, 120] };

/** Ten users with five interactions each, timestamps in order. */
export function goodData(): string {
  const lines = ['user item timestamp'];
  for (let u = 1; u <= 10; u++)
    for (let t = 0; t < 5; t++) lines.push(`${u} ${1 + ((u * 7 + t * 13) % ITEMS)} ${t}`);
  return `${lines.join('\n')}\n`;
}

export interface GoodInputs {
  model: string;
  grewKey: string;
  aowKey: string;
  data: string;
}

export function writeGoodInputs(dir: string): GoodInputs {
  const inputs = {
    model: path.join(dir, 'good.onnx'),
    grewKey: path.join(dir, 'good.wmkey.json'),
    aowKey: path.join(dir, 'good-aow.wmkey.json'),
    data: path.join(dir, 'good.txt'),
  };
  writeFileSync(inputs.model, encodeModel(goodModel()));
  writeFileSync(inputs.grewKey, JSON.stringify(grewKeyJson()));
  writeFileSync(inputs.aowKey, JSON.stringify(AOW_KEY));
  writeFileSync(inputs.data, goodData());
  return inputs;
}

/** The graph of a model built in code, whose repeated fields are all present. */
export type EditableGraph = Omit<onnx.GraphProto, 'node' | 'initializer'> & {
  node: onnx.NodeProto[];
  initializer: onnx.TensorProto[];
};

/** Edit a fresh good model and write it as `name` in `dir`. */
export function writeModelVariant(
  dir: string,
  name: string,
  edit: (proto: onnx.ModelProto, graph: EditableGraph) => void,
): string {
  const proto = goodModel();
  edit(proto, graphOf(proto) as EditableGraph);
  const file = path.join(dir, name);
  writeFileSync(file, encodeModel(proto));
  return file;
}
