/**
 * Mapping between the model's item ids (its index space) and raw ids (a service's, or a data
 * file's such as MovieLens movieId), read from a CSV with a header (e.g. `index,movieId`). Both
 * directions must be one-to-one; a duplicate is an error naming the line. Endpoint profiles name
 * their two columns; a data file's map (`--id-map`) is its first two columns.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { limits, raiseHint } from '../limits';
import { readInputFile } from '../util/files';

export type ServiceId = number | string;

export interface IdMap {
  /** Model id → raw id as sent in requests. */
  toService: Map<number, ServiceId>;
  /** Raw id (as a string, whatever JSON type the service used) → model id. */
  toModel: Map<string, number>;
  /** The model ids the map covers, ascending. */
  modelIds: Int32Array;
  /** sha256 of the file, so cached answers are tied to this mapping. */
  sha256: string;
}

export interface IdMapSource {
  file: string;
  /** Header names of the model-id and raw-id columns; the first two columns when absent. */
  columns?: { model: string; service: string };
  /** Prefix of every message, e.g. the profile's name or "Id map". */
  label: string;
  code: string;
  /** How to point at another file, ending a "cannot be read" message. */
  fix: string;
  /** The map must really sit in this folder or below (a profile handed over by someone else). */
  confineTo?: string;
}

/** True when `target` is `dir` itself's child or deeper (lexically; symlinks are checked on read). */
export function insideFolder(dir: string, target: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(target));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

async function readMapText(src: IdMapSource): Promise<string> {
  const { file, label } = src;
  const unreadable = (why: string): RecMarkError =>
    new RecMarkError(`${label}: the id map ${file} ${why}; ${src.fix}.`, src.code);
  try {
    if (src.confineTo !== undefined) {
      const [real, realDir] = await Promise.all([fs.realpath(file), fs.realpath(src.confineTo)]);
      if (!insideFolder(realDir, real))
        throw unreadable(
          "resolves outside the profile's folder (symlink); keep it next to the profile",
        );
    }
    const maxBytes = limits().idMapBytes;
    const bytes = await readInputFile(file, {
      what: `${label}: the id map`,
      code: src.code,
      maxBytes,
      tooLarge: (size) =>
        unreadable(
          `is ${size.toLocaleString('en-US')} bytes, above the ${maxBytes.toLocaleString('en-US')}-byte limit for id maps; ${raiseHint('idMapBytes')}`,
        ),
    });
    return bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    throw unreadable('cannot be read');
  }
}

export async function readIdMap(src: IdMapSource): Promise<IdMap> {
  const text = await readMapText(src);
  const bad = (msg: string): RecMarkError =>
    new RecMarkError(`${src.label}: id map ${src.file}: ${msg}`, src.code);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw bad('needs a header line and at least one row.');
  const split = (l: string): string[] =>
    l.split(/[,\t;]/).map((c) => c.trim().replace(/^"|"$/g, ''));
  const header = split(lines[0]);
  const [mi, si] = src.columns
    ? [header.indexOf(src.columns.model), header.indexOf(src.columns.service)]
    : [0, header.length >= 2 ? 1 : -1];
  if (mi < 0 || si < 0) {
    // The header's own text is not quoted: a mistyped path may point at any file.
    throw bad(
      src.columns
        ? `its header (${header.length} columns) has no column "${mi < 0 ? src.columns.model : src.columns.service}"; ` +
            'set "idMap.modelColumn" and "idMap.serviceColumn" to two of its column names.'
        : `its header has ${header.length} column(s); it needs two: the model's index, then the raw id (as test/fixtures/item_map.csv).`,
    );
  }
  const toService = new Map<number, ServiceId>();
  const toModel = new Map<string, number>();
  for (let n = 1; n < lines.length; n++) {
    const cells = split(lines[n]);
    const model = Number(cells[mi]);
    const serviceText = cells[si];
    if (
      !Number.isSafeInteger(model) ||
      model < 0 ||
      serviceText === undefined ||
      serviceText === ''
    )
      throw bad(`line ${n + 1} is not "model id, raw id" (a model id ≥ 0 and a raw id).`);
    if (toService.has(model)) throw bad(`model id ${model} appears twice (line ${n + 1}).`);
    if (toModel.has(serviceText)) throw bad(`a raw id appears twice (line ${n + 1}).`);
    const asNumber = Number(serviceText);
    toService.set(
      model,
      /^-?\d+$/.test(serviceText) && Number.isSafeInteger(asNumber) ? asNumber : serviceText,
    );
    toModel.set(serviceText, model);
  }
  const modelIds = Int32Array.from([...toService.keys()].sort((a, b) => a - b));
  const sha256 = createHash('sha256').update(text).digest('hex');
  return { toService, toModel, modelIds, sha256 };
}
