/**
 * The JSON form of a watermark key, and its validation on the way in: every field is checked,
 * and a GREW key's green split must be the one its clusters (and secret, when present) give.
 */
import { RecMarkError } from '../errors';
import {
  greenFromClusters,
  loadedKeyId,
  NOT_AN_ITEM,
  prf,
  secretKeyId,
  sequenceKeyIdOf,
  splitKeyIdOf,
  type AowKey,
  type WatermarkKey,
} from './key';

function packBits(flags: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(flags.length / 8));
  flags.forEach((f, i) => {
    if (f) bytes[i >> 3] |= 1 << (i & 7);
  });
  return Buffer.from(bytes).toString('base64');
}

function unpackBits(base64: string, length: number): Uint8Array | null {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== Math.ceil(length / 8)) return null;
  const flags = new Uint8Array(length);
  for (let i = 0; i < length; i++) flags[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return flags;
}

function packClusters(clusters: Uint16Array): string {
  const buf = Buffer.alloc(clusters.length * 2);
  clusters.forEach((c, i) => buf.writeUInt16LE(c, i * 2));
  return buf.toString('base64');
}

function unpackClusters(base64: string, length: number): Uint16Array | null {
  const buf = Buffer.from(base64, 'base64');
  if (buf.length !== length * 2) return null;
  const out = new Uint16Array(length);
  for (let i = 0; i < length; i++) out[i] = buf.readUInt16LE(i * 2);
  return out;
}

/** The JSON form of a key. `includeSecret` is only true for an explicit export. */
export function keyToJson(key: WatermarkKey, includeSecret: boolean): Record<string, unknown> {
  const common = {
    scheme: key.scheme,
    version: key.version,
    keyId: key.keyId,
    ...(key.model ? { model: key.model } : {}),
    ...(key.createdAt ? { createdAt: key.createdAt } : {}),
  };
  const secret =
    includeSecret && key.secret ? { secret: Buffer.from(key.secret).toString('hex') } : {};
  if (key.scheme === 'aow') {
    return { ...common, sequence: key.sequence, L: key.L, M: key.M, start: key.start, ...secret };
  }
  return {
    ...common,
    ...(key.mode ? { mode: key.mode } : {}),
    gamma: key.gamma,
    delta: key.delta,
    kc: key.kc,
    protectHead: key.protectHead,
    topK: key.topK,
    scoreWidth: key.scoreWidth,
    numItems: key.numItems,
    numClusters: key.numClusters,
    clusters: packClusters(key.clusters),
    green: packBits(key.green),
    ...secret,
  };
}

function invalid(label: string, problem: string): RecMarkError {
  return new RecMarkError(`Key file ${label}: ${problem}`, 'key-invalid');
}

/** Parse and validate a key object (from a file or SecretStorage). */
export function keyFromJson(value: unknown, label = ''): WatermarkKey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(label, 'must hold a JSON object with a "scheme".');
  }
  const obj = value as Record<string, unknown>;
  const num = (
    key: string,
    ok: (v: number) => boolean,
    want: string,
    fallback?: number,
  ): number => {
    const v = obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
      throw invalid(
        label,
        `"${key}" must be ${want}${v === undefined ? ' (missing)' : `, got ${JSON.stringify(v)}`}.`,
      );
    }
    return v;
  };
  const int = (v: number): boolean => Number.isSafeInteger(v);
  if (obj.version !== undefined && obj.version !== 1) {
    throw invalid(
      label,
      `version ${JSON.stringify(obj.version)} is not supported (this RecMark reads version 1).`,
    );
  }
  let secret: Uint8Array | undefined;
  if (obj.secret !== undefined) {
    if (typeof obj.secret !== 'string' || !/^[0-9a-fA-F]{64}$/.test(obj.secret)) {
      throw invalid(label, '"secret" must be 64 hex digits.');
    }
    secret = Buffer.from(obj.secret, 'hex');
  }
  const model =
    typeof obj.model === 'object' && obj.model !== null
      ? {
          fileName: String((obj.model as Record<string, unknown>).fileName ?? ''),
          sha256: String((obj.model as Record<string, unknown>).sha256 ?? ''),
        }
      : undefined;
  const createdAt = typeof obj.createdAt === 'string' ? obj.createdAt : undefined;

  if (obj.scheme === 'aow') {
    const seq = obj.sequence;
    if (
      !Array.isArray(seq) ||
      seq.length < 2 ||
      seq.length > 100 ||
      !seq.every((v) => Number.isSafeInteger(v) && v >= 0)
    ) {
      throw invalid(label, '"sequence" must be a list of 2 to 100 non-negative item ids.');
    }
    if (new Set(seq).size !== seq.length) throw invalid(label, '"sequence" repeats an item id.');
    const start = obj.start ?? 'external';
    if (!['cold', 'pop', 'random', 'external'].includes(start as string)) {
      throw invalid(label, '"start" must be "cold", "pop", "random" or "external".');
    }
    const sequence = seq as number[];
    const keyId = secret
      ? secretKeyId(obj.keyId, secret, label)
      : loadedKeyId(
          obj.keyId,
          () => sequenceKeyIdOf(sequence),
          [sequence.join(''), sequence.join(',')],
          label,
        );
    return {
      scheme: 'aow',
      version: 1,
      keyId,
      sequence,
      L: num(
        'L',
        (v) => v === sequence.length,
        `the sequence length (${sequence.length})`,
        sequence.length,
      ),
      M: num('M', (v) => int(v) && v >= 1, 'a positive integer', 100),
      start: start as AowKey['start'],
      secret,
      model,
      createdAt,
    };
  }
  if (obj.scheme !== 'grew') {
    throw invalid(label, `"scheme" must be "grew" or "aow", got ${JSON.stringify(obj.scheme)}.`);
  }
  const scoreWidth = num('scoreWidth', (v) => int(v) && v >= 2 && v < 2 ** 31, 'an integer ≥ 2');
  const numClusters = num(
    'numClusters',
    (v) => int(v) && v >= 1 && v <= 4096,
    'an integer from 1 to 4096',
  );
  const clusters =
    typeof obj.clusters === 'string' ? unpackClusters(obj.clusters, scoreWidth) : null;
  if (!clusters) throw invalid(label, `"clusters" must be base64 of ${scoreWidth} uint16 values.`);
  const green = typeof obj.green === 'string' ? unpackBits(obj.green, scoreWidth) : null;
  if (!green) throw invalid(label, `"green" must be base64 of a ${scoreWidth}-bit set.`);
  let numItems = 0;
  for (let i = 0; i < scoreWidth; i++) {
    if (clusters[i] === NOT_AN_ITEM) {
      if (green[i])
        throw invalid(label, `id ${i} is green but belongs to no cluster; the key was altered.`);
      continue;
    }
    if (clusters[i] >= numClusters)
      throw invalid(label, `id ${i} is in cluster ${clusters[i]}, beyond numClusters.`);
    numItems++;
  }
  if (obj.numItems !== undefined && obj.numItems !== numItems) {
    throw invalid(
      label,
      `"numItems" says ${String(obj.numItems)} but the clusters hold ${numItems} items.`,
    );
  }
  const gamma = num('gamma', (v) => v > 0 && v < 1, 'between 0 and 1 (exclusive)');
  checkGreenSplit(clusters, green, gamma, secret, label);
  if (obj.mode !== undefined && obj.mode !== 'weights' && obj.mode !== 'serve')
    throw invalid(label, '"mode" must be "weights" or "serve".');
  return {
    scheme: 'grew',
    version: 1,
    keyId: secret
      ? secretKeyId(obj.keyId, secret, label)
      : loadedKeyId(obj.keyId, () => splitKeyIdOf(clusters, green), [], label),
    ...(obj.mode !== undefined ? { mode: obj.mode as 'weights' | 'serve' } : {}),
    gamma,
    delta: num('delta', (v) => v >= 0 && v <= 100, 'between 0 and 100'),
    kc: num('kc', (v) => int(v) && v >= 2, 'an integer ≥ 2'),
    protectHead: num('protectHead', (v) => int(v) && v >= 0, 'a non-negative integer', 0),
    topK: num('topK', (v) => int(v) && v >= 1, 'a positive integer', 20),
    scoreWidth,
    numItems,
    numClusters,
    clusters,
    green,
    secret,
    model,
    createdAt,
  };
}

/**
 * A green set is a γ split inside every cluster (what `greenFromClusters` makes); with the secret
 * it must be exactly that split. Anything else was edited, e.g. to make a clean model look
 * watermarked or a watermarked one look clean.
 */
function checkGreenSplit(
  clusters: Uint16Array,
  green: Uint8Array,
  gamma: number,
  secret: Uint8Array | undefined,
  label: string,
): void {
  const tampered = (why: string): RecMarkError =>
    new RecMarkError(
      `Key file ${label}: ${why}; the key was altered. Use the key file exported by RecMark.`,
      'key-tampered',
    );
  const members = new Map<number, number>();
  const greens = new Map<number, number>();
  clusters.forEach((c, id) => {
    if (c === NOT_AN_ITEM) return;
    members.set(c, (members.get(c) ?? 0) + 1);
    if (green[id]) greens.set(c, (greens.get(c) ?? 0) + 1);
  });
  for (const [c, n] of members) {
    const want = Math.round(gamma * n);
    if ((greens.get(c) ?? 0) !== want)
      throw tampered(
        `cluster ${c} has ${greens.get(c) ?? 0} green items of ${n}, not γ·n = ${want}`,
      );
  }
  if (!secret) return;
  // Re-deriving costs one HMAC per item (~11 s at 1M items), so large keys re-derive whole
  // clusters, picked by the secret, up to SECRET_CHECK_ITEMS: a swap is caught exactly in small
  // catalogues and with a probability of the share checked (10% at 1M) in large ones.
  const checked = new Uint16Array(clusters.length).fill(NOT_AN_ITEM);
  const order = [...members.keys()].sort(
    (a, b) => prf(secret, 'check', a) - prf(secret, 'check', b) || a - b,
  );
  let budget = SECRET_CHECK_ITEMS;
  const chosen = new Set<number>();
  for (const c of order) {
    if (chosen.size > 0 && members.get(c)! > budget) break;
    chosen.add(c);
    budget -= members.get(c)!;
  }
  clusters.forEach((c, id) => chosen.has(c) && (checked[id] = c));
  const expected = greenFromClusters(checked, secret, gamma);
  const differs = expected.findIndex((g, id) => checked[id] !== NOT_AN_ITEM && g !== green[id]);
  if (differs >= 0) throw tampered(`id ${differs} is not in the green set its secret derives`);
}

/** Items whose green flag a key's secret re-derives when the key is read (see checkGreenSplit). */
const SECRET_CHECK_ITEMS = 100_000;

/**
 * JSON.parse for key material. V8's syntax errors quote the text around the fault (`Unexpected
 * token 'a', "a8fb44d9a1"... is not valid JSON`), which for a key file is the secret; the error
 * says where the fault is, never what is there.
 */
export function parseKeyJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const at = /at position (\d+)/.exec((err as Error).message);
    let where = '';
    if (at) {
      const before = text.slice(0, Number(at[1])).split('\n');
      where = ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
    }
    throw invalid(label, `not valid JSON${where}.`);
  }
}
