/**
 * Mapping between the model's item ids (the key's index space) and the ids a service speaks,
 * read from a CSV with a header naming both columns (e.g. `index,movieId`). Both directions must
 * be one-to-one; a duplicate is an error naming the line.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RecMarkError } from '../errors';
import { limits, raiseHint } from '../limits';
import { readInputFile } from '../util/files';

export type ServiceId = number | string;

export interface IdMap {
  /** Model id → service id as sent in requests. */
  toService: Map<number, ServiceId>;
  /** Service id (as a string, whatever JSON type the service used) → model id. */
  toModel: Map<string, number>;
  /** The model ids the map covers, ascending. */
  modelIds: Int32Array;
  /** sha256 of the file, so cached answers are tied to this mapping. */
  sha256: string;
}

/** True when `target` is `dir` itself's child or deeper (lexically; symlinks are checked on read). */
export function insideFolder(dir: string, target: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(target));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Read an id map. With `profileDir`, the map must really sit in that folder or below: a profile
 * handed over by someone else must not make RecMark read (and quote) any other file.
 */
export async function readIdMap(
  file: string,
  columns: { model: string; service: string },
  label: string,
  profileDir?: string,
): Promise<IdMap> {
  const unreadable = (why: string): RecMarkError =>
    new RecMarkError(
      `${label}: the id map ${file} ${why}; fix "idMap.file" (a path relative to the profile).`,
      'endpoint-profile',
    );
  let text: string;
  try {
    if (profileDir !== undefined) {
      const [real, realDir] = await Promise.all([fs.realpath(file), fs.realpath(profileDir)]);
      if (!insideFolder(realDir, real))
        throw unreadable(
          "resolves outside the profile's folder (symlink); keep it next to the profile",
        );
    }
    const maxBytes = limits().idMapBytes;
    const bytes = await readInputFile(file, {
      what: `${label}: the id map`,
      code: 'endpoint-profile',
      maxBytes,
      tooLarge: (size) =>
        unreadable(
          `is ${size.toLocaleString('en-US')} bytes, above the ${maxBytes.toLocaleString('en-US')}-byte limit for id maps; ${raiseHint('idMapBytes')}`,
        ),
    });
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    throw unreadable('cannot be read');
  }
  const bad = (msg: string): RecMarkError =>
    new RecMarkError(`${label}: id map ${file}: ${msg}`, 'endpoint-profile');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw bad('needs a header line and at least one row.');
  const split = (l: string): string[] =>
    l.split(/[,\t;]/).map((c) => c.trim().replace(/^"|"$/g, ''));
  const header = split(lines[0]);
  const mi = header.indexOf(columns.model);
  const si = header.indexOf(columns.service);
  if (mi < 0 || si < 0) {
    // The header's own text is not quoted: a mistyped path may point at any file.
    throw bad(
      `its header (${header.length} columns) has no column "${mi < 0 ? columns.model : columns.service}"; ` +
        'set "idMap.modelColumn" and "idMap.serviceColumn" to two of its column names.',
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
      throw bad(`line ${n + 1} is not "model id, service id" (a model id ≥ 0 and a service id).`);
    if (toService.has(model)) throw bad(`model id ${model} appears twice (line ${n + 1}).`);
    if (toModel.has(serviceText)) throw bad(`a service id appears twice (line ${n + 1}).`);
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
