/**
 * The baseline a user could write in an afternoon: a default onnxruntime InferenceSession on the
 * exported file, left-padded int64 rows, and a straightforward JS top-k over the score row at the
 * last position (ids 1..N, pad column 0 skipped, ties to the lower id so lists can be compared
 * with RecMark's). Deliberately no RecMark code, so RecMark's speed-ups show against it.
 */
import * as ort from 'onnxruntime-node';

/** Open the file with onnxruntime's defaults (errors-only logging, as RecMark does). */
export function openPlain(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, { logSeverityLevel: 3 });
}

/** Top-k of every probe through a plain session, `batch` rows per run. */
export async function plainTopK(
  session: ort.InferenceSession,
  probes: readonly (readonly number[])[],
  k: number,
  seqLen: number,
  batch = 64,
): Promise<Int32Array[]> {
  const lists: Int32Array[] = [];
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  for (let b = 0; b < probes.length; b += batch) {
    const rows = probes.slice(b, b + batch);
    const ids = new BigInt64Array(rows.length * seqLen);
    rows.forEach((p, r) => {
      const kept = p.slice(-seqLen);
      kept.forEach((item, i) => (ids[r * seqLen + seqLen - kept.length + i] = BigInt(item)));
    });
    const result = await session.run({
      [input]: new ort.Tensor('int64', ids, [rows.length, seqLen]),
    });
    const scores = result[output];
    const data = scores.data as Float32Array;
    const width = scores.dims[scores.dims.length - 1];
    // [B, W] or [B, T, W]: left padding puts every row's last item at position T − 1.
    const stride = scores.dims.length === 3 ? seqLen * width : width;
    const last = scores.dims.length === 3 ? (seqLen - 1) * width : 0;
    for (let r = 0; r < rows.length; r++)
      lists.push(jsTopK(data.subarray(r * stride + last, r * stride + last + width), k));
  }
  return lists;
}

/** Top-k ids of one row over ids 1..W−1 by insertion into a sorted buffer. */
export function jsTopK(row: Float32Array, k: number): Int32Array {
  const ids = new Int32Array(k).fill(-1);
  const vals = new Float32Array(k).fill(-Infinity);
  for (let id = 1; id < row.length; id++) {
    const v = row[id];
    if (!(v > vals[k - 1]) && ids[k - 1] !== -1) continue;
    let pos = k - 1;
    while (pos > 0 && (vals[pos - 1] < v || ids[pos - 1] === -1)) {
      vals[pos] = vals[pos - 1];
      ids[pos] = ids[pos - 1];
      pos--;
    }
    vals[pos] = v;
    ids[pos] = id;
  }
  return ids;
}

/** How many of two runs' lists are identical, element for element. */
export function sameLists(a: readonly Int32Array[], b: readonly Int32Array[]): number {
  let same = 0;
  for (let i = 0; i < a.length; i++)
    if (a[i].length === b[i]?.length && a[i].every((id, j) => id === b[i][j])) same++;
  return same;
}
