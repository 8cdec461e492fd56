/** Type tests, shape formatting and the "ambiguous" error shared by the adapter's detection steps. */
import { RecMarkError } from '../errors';
import { DataType, type Dim } from './graph';

export const isIntType = (t: number | null): boolean =>
  t === DataType.INT64 || t === DataType.INT32;
export const isFloatType = (t: number | null): boolean =>
  t === DataType.FLOAT ||
  t === DataType.FLOAT16 ||
  t === DataType.DOUBLE ||
  t === DataType.BFLOAT16;
export const fmtShape = (s: Dim[] | null): string =>
  s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[?]';

export function ambiguous(what: string, key: string, candidates: string[]): RecMarkError {
  return new RecMarkError(
    `Cannot tell which ${what}: candidates are ${candidates.map((c) => `"${c}"`).join(', ')}. ` +
      `Set "${key}" in the sidecar <model>.onnx.recmark.json.`,
    'adapter-ambiguous',
  );
}
