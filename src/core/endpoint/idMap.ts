/**
 * Mapping between the model's item ids (the key's index space) and the ids a service speaks,
 * read from a CSV with a header naming both columns (e.g. `index,movieId`). Both directions must
 * be one-to-one; a duplicate is an error naming the line.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { RecMarkError } from '../errors';

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

export async function readIdMap(
  file: string,
  columns: { model: string; service: string },
  label: string,
): Promise<IdMap> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new RecMarkError(
      `${label}: the id map ${file} cannot be read; fix "idMap.file" (a path relative to the profile).`,
      'endpoint-profile',
    );
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
    throw bad(
      `the header has columns ${header.map((h) => `"${h}"`).join(', ')}; set "idMap.modelColumn" ` +
        `(now "${columns.model}") and "idMap.serviceColumn" (now "${columns.service}") to two of them.`,
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
      throw bad(`line ${n + 1} is not "model id, service id": "${lines[n]}".`);
    if (toService.has(model)) throw bad(`model id ${model} appears twice (line ${n + 1}).`);
    if (toModel.has(serviceText))
      throw bad(`service id ${serviceText} appears twice (line ${n + 1}).`);
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
