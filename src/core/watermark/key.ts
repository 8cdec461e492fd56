/**
 * Watermark keys (DESIGN.md §7): the secret, the PRF, the green split it derives and the key ids.
 * A key id (derived from the secret by the PRF, so it reveals nothing) is what reports and logs
 * may show; the secret itself never leaves the key modules except inside an exported key file
 * (keyJson.ts is the JSON form, keyFile.ts the only reader and writer of `*.wmkey.json` files).
 */
import { createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';

export const SECRET_BYTES = 32;

/** HMAC-SHA256(secret, label || itemId) as a 48-bit number: enough to order a million items. */
export function prf(secret: Uint8Array, label: string, itemId: number): number {
  const message = Buffer.alloc(label.length + 4);
  message.write(label, 0, 'latin1');
  message.writeUInt32BE(itemId >>> 0, label.length);
  const digest = createHmac('sha256', secret).update(message).digest();
  return digest.readUIntBE(0, 6);
}

export function newSecret(): Uint8Array {
  return randomBytes(SECRET_BYTES);
}

/** A public handle for a key: 16 hex digits of HMAC(secret, "key-id"). */
export function keyIdOf(secret: Uint8Array): string {
  return createHmac('sha256', secret).update('recmark/key-id').digest('hex').slice(0, 16);
}

/**
 * The id of an AOW key without its secret (a minimal, imported key): the sequence is the secret
 * there, and a short one is guessable, so the id is a slow one-way hash (scrypt, ~16 MiB) of a
 * domain-separated encoding, never the sequence itself.
 */
export function sequenceKeyIdOf(sequence: readonly number[]): string {
  const encoded = `recmark/key-id/aow-sequence/v1\n${sequence.join(',')}`;
  return scryptSync(encoded, 'recmark/key-id', 8, { N: 2 ** 14, r: 8, p: 1 }).toString('hex');
}

/** The id of a GREW key without its secret: a hash of its split (thousands of random bits). */
export function splitKeyIdOf(clusters: Uint16Array, green: Uint8Array): string {
  return createHash('sha256')
    .update('recmark/key-id/grew-split/v1\n')
    .update(Buffer.from(clusters.buffer, clusters.byteOffset, clusters.byteLength))
    .update(Buffer.from(green.buffer, green.byteOffset, green.byteLength))
    .digest('hex')
    .slice(0, 16);
}

/** Forms of a key id RecMark writes: 16 hex digits of a one-way function. */
const KEY_ID_RE = /^[0-9a-f]{16}$/;

/**
 * The id a loaded key goes by. With a secret it is always keyIdOf(secret); without, a stored id
 * is kept only in the one-way form and when it is no substring of the key material (older
 * RecMark named minimal AOW keys `seq-<sequence>`); anything else is recomputed, and said so.
 */
export function loadedKeyId(
  stored: unknown,
  derive: () => string,
  material: string[],
  label: string,
): string {
  if (
    typeof stored === 'string' &&
    KEY_ID_RE.test(stored) &&
    !material.some((m) => m.includes(stored))
  )
    return stored;
  const id = derive();
  if (typeof stored === 'string' && stored !== id) warnIdReplaced(label, id);
  return id;
}

/** Said once per load; never quotes the old id, which may be the secret itself. */
function warnIdReplaced(label: string, id: string): void {
  const which = label.endsWith('.json') ? `Key file ${label}` : 'A stored key';
  process.emitWarning(
    `${which}: its key id was replaced by ${id}, a one-way id (the old one could reveal the key); export or save the key again to keep the new id.`,
    { code: 'RECMARK_KEY_ID' },
  );
}

/** A seed for a keyed PRNG (e.g. k-means++), derived from the secret and a purpose label. */
export function keyedSeed(secret: Uint8Array, purpose: string): number {
  return createHmac('sha256', secret).update(`recmark/seed/${purpose}`).digest().readUInt32BE(0);
}

/** A key with its secret goes by keyIdOf(secret), whatever id its file claims. */
export function secretKeyId(stored: unknown, secret: Uint8Array, label: string): string {
  const id = keyIdOf(secret);
  if (typeof stored === 'string' && stored !== id) warnIdReplaced(label, id);
  return id;
}

export interface GrewKey {
  scheme: 'grew';
  version: 1;
  keyId: string;
  /** Where the watermark was put: trained into the weights, or a served head (absent in older keys). */
  mode?: 'weights' | 'serve';
  gamma: number;
  delta: number;
  kc: number;
  /** The m best items were left untouched at embedding; evidence lives in ranks m+1..topK. */
  protectHead: number;
  topK: number;
  /** Score columns of the model the key was made for (ids 0..scoreWidth-1). */
  scoreWidth: number;
  numItems: number;
  numClusters: number;
  /** Cluster of every id (0xffff for pad/mask and other non-items). */
  clusters: Uint16Array;
  /** Green flag of every id. */
  green: Uint8Array;
  /** Present only in keys that can re-derive the partition (exported key files, SecretStorage). */
  secret?: Uint8Array;
  /** Informational: the model the watermark was embedded in. */
  model?: { fileName: string; sha256: string };
  createdAt?: string;
}

export interface AowKey {
  scheme: 'aow';
  version: 1;
  keyId: string;
  sequence: number[];
  L: number;
  M: number;
  start: 'cold' | 'pop' | 'random' | 'external';
  secret?: Uint8Array;
  model?: { fileName: string; sha256: string };
  createdAt?: string;
}

export type WatermarkKey = GrewKey | AowKey;

export const NOT_AN_ITEM = 0xffff;

/**
 * Inside each cluster, order items by PRF(secret, "green", id) and make the first round(γ·n) green.
 * Deterministic from (clusters, secret, γ), which also lets a key file be checked for tampering.
 */
export function greenFromClusters(
  clusters: Uint16Array,
  secret: Uint8Array,
  gamma: number,
): Uint8Array {
  const members = new Map<number, { id: number; rank: number }[]>();
  clusters.forEach((c, id) => {
    if (c === NOT_AN_ITEM) return;
    const list = members.get(c) ?? [];
    list.push({ id, rank: prf(secret, 'green', id) });
    members.set(c, list);
  });
  const green = new Uint8Array(clusters.length);
  for (const list of members.values()) {
    list.sort((a, b) => a.rank - b.rank || a.id - b.id);
    const count = Math.round(gamma * list.length);
    for (let i = 0; i < count; i++) green[list[i].id] = 1;
  }
  return green;
}
