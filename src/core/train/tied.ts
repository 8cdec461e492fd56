/**
 * Tied weights. An exporter stores a tied item embedding twice (torch.onnx folds the output
 * head's `E^T` into its own initializer next to the input table `E`), so the file only shows the
 * tie as two tensors with the same values. Training them as two parameters would let them drift
 * apart: the model is no longer tied, and a diff of the two copies points at exactly the rows the
 * training moved (for a watermark, the rows a thief would want to find). So a copy is trained as
 * its original: its gradient is folded into the original's, and it is rewritten after every step.
 */

export interface TiedCopy {
  /** The copy (later in initializer order) and the tensor it repeats. */
  copy: string;
  of: string;
  /** The copy is the 2-D transpose of the original rather than the same layout. */
  transposed: boolean;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isTranspose(a: Float32Array, [rows, cols]: number[], b: Float32Array): boolean {
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) if (a[r * cols + c] !== b[c * rows + r]) return false;
  return true;
}

/**
 * Pairs of parameters that hold exactly the same values (or one is the 2-D transpose of the
 * other). Only tensors of at least `minSize` entries count, so small vectors that happen to be
 * equal (two LayerNorm scales still at 1) are not tied.
 */
export function findTiedCopies(
  params: ReadonlyMap<string, Float32Array>,
  dims: ReadonlyMap<string, readonly number[]>,
  minSize = 256,
): TiedCopy[] {
  const names = [...params.keys()].filter((n) => params.get(n)!.length >= minSize);
  const tied: TiedCopy[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    const of = names[i];
    if (taken.has(of)) continue;
    const a = params.get(of)!;
    const da = dims.get(of)!;
    for (const copy of names.slice(i + 1)) {
      if (taken.has(copy)) continue;
      const b = params.get(copy)!;
      const db = dims.get(copy)!;
      if (a.length !== b.length) continue;
      const sameShape = da.length === db.length && da.every((d, k) => d === db[k]);
      if (sameShape && sameValues(a, b)) {
        tied.push({ copy, of, transposed: false });
        taken.add(copy);
      } else if (
        da.length === 2 &&
        db.length === 2 &&
        da[0] === db[1] &&
        da[1] === db[0] &&
        isTranspose(a, da as number[], b)
      ) {
        tied.push({ copy, of, transposed: true });
        taken.add(copy);
      }
    }
  }
  return tied;
}

/** Add each copy's gradient into its original's (in place), in the original's layout. */
export function foldTiedGradients(
  grads: Map<string, Float32Array>,
  tied: readonly TiedCopy[],
  dims: ReadonlyMap<string, readonly number[]>,
): void {
  for (const { copy, of, transposed } of tied) {
    const g = grads.get(of)!;
    const gc = grads.get(copy)!;
    if (!transposed) {
      for (let i = 0; i < g.length; i++) g[i] += gc[i];
    } else {
      const [rows, cols] = dims.get(of)!;
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) g[r * cols + c] += gc[c * rows + r];
    }
    grads.delete(copy);
  }
}

/** Rewrite every copy from its original (in place). */
export function syncTiedCopies(
  params: ReadonlyMap<string, Float32Array>,
  tied: readonly TiedCopy[],
  dims: ReadonlyMap<string, readonly number[]>,
): void {
  for (const { copy, of, transposed } of tied) {
    const a = params.get(of)!;
    const b = params.get(copy)!;
    if (!transposed) {
      b.set(a);
    } else {
      const [rows, cols] = dims.get(of)!;
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) b[c * rows + r] = a[r * cols + c];
    }
  }
}
