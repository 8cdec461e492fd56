/**
 * The sidecar `<model>.onnx.recmark.json`: adapter fields a user sets by hand when detection
 * cannot tell (or tells wrong); any field it holds overrides the detected one.
 */
import { RecMarkError } from '../errors';
import { SIDECAR_MAX_BYTES } from '../limits';
import { jsonFaultWhere, readInputFile } from '../util/files';
import type { Padding } from './adapter';

export interface Sidecar {
  input?: string;
  output?: string;
  padding?: Padding;
  padId?: number;
  maskId?: number | null;
  numItems?: number;
  seqLen?: number;
  itemEmbedding?: string | null;
  lengthInput?: string | null;
}

export function sidecarPath(modelFile: string): string {
  return `${modelFile}.recmark.json`;
}

const SIDECAR_KEYS = new Set([
  'input',
  'output',
  'padding',
  'padId',
  'maskId',
  'numItems',
  'seqLen',
  'itemEmbedding',
  'lengthInput',
]);

/** Read and validate the sidecar next to a model; null when there is none. */
export async function readSidecar(modelFile: string): Promise<Sidecar | null> {
  const file = sidecarPath(modelFile);
  let text: string;
  try {
    const bytes = await readInputFile(file, {
      what: 'The sidecar',
      code: 'sidecar-invalid',
      maxBytes: SIDECAR_MAX_BYTES,
      tooLarge: () =>
        new RecMarkError(
          `${file} is larger than ${SIDECAR_MAX_BYTES} bytes, so it is not a RecMark sidecar; remove or fix it.`,
          'sidecar-invalid',
        ),
    });
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RecMarkError(`Cannot read ${file}: ${(err as Error).message}`, 'sidecar-invalid');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RecMarkError(
      `${file} is not valid JSON${jsonFaultWhere(err, text)}; fix or remove it.`,
      'sidecar-invalid',
    );
  }
  return validateSidecar(parsed, file);
}

export function validateSidecar(value: unknown, label = 'sidecar'): Sidecar {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecMarkError(`${label} must hold a JSON object.`, 'sidecar-invalid');
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!SIDECAR_KEYS.has(key)) {
      throw new RecMarkError(
        `${label}: unknown key "${key}"; allowed keys are ${[...SIDECAR_KEYS].join(', ')}.`,
        'sidecar-invalid',
      );
    }
  }
  const bad = (key: string, want: string): never => {
    throw new RecMarkError(`${label}: "${key}" must be ${want}.`, 'sidecar-invalid');
  };
  const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
  for (const key of ['input', 'output'] as const) {
    if (key in obj && typeof obj[key] !== 'string') bad(key, 'a string');
  }
  for (const key of ['itemEmbedding', 'lengthInput'] as const) {
    if (key in obj && obj[key] !== null && typeof obj[key] !== 'string')
      bad(key, 'a string or null');
  }
  if ('padding' in obj && obj.padding !== 'left' && obj.padding !== 'right')
    bad('padding', '"left" or "right"');
  if ('padId' in obj && !isCount(obj.padId)) bad('padId', 'a non-negative integer');
  if ('maskId' in obj && obj.maskId !== null && !isCount(obj.maskId))
    bad('maskId', 'a non-negative integer or null');
  if ('numItems' in obj && (!isCount(obj.numItems) || (obj.numItems as number) < 1))
    bad('numItems', 'a positive integer');
  if ('seqLen' in obj && (!isCount(obj.seqLen) || (obj.seqLen as number) < 1))
    bad('seqLen', 'a positive integer');
  return obj as Sidecar;
}
