/**
 * Training a [batch, T, N] export on its last position only. A loss that reads one position per
 * row (everything but per-position cross-entropy) would otherwise run the item head, and every
 * op after the last position-mixing one, forwards and backwards at all T positions, then pick
 * one row with a one-hot. The scoring path's verified rewrite (lastPositionSession.ts) gives the
 * same rows from a graph that runs them on one position; training uses it when it reproduces the
 * original and keeps every trainable initializer under its own name (the trained weights are
 * written back into the original by name). Anything else trains the export as it is, with the
 * reason in the layout.
 */
import type { Adapter } from '../onnx/adapter';
import { graphOf, type onnx } from '../onnx/model';
import { verifyLastPosition } from '../onnx/lastPositionSession';
import type { FedGraph } from './batcher';

/**
 * Which forward graph training runs: the export's own [batch, N] output, the last-position
 * rewrite of a [batch, T, N] one, or a [batch, T, N] one at every position.
 */
export type TrainingGraphMode = 'last-position' | 'rewritten' | 'all-positions';

export interface TrainingLayout extends FedGraph {
  mode: TrainingGraphMode;
  /** What the rewrite runs on one position, or why the export trains at every position. */
  note: string | null;
}

export interface LastPositionForward {
  proto: onnx.ModelProto;
  layout: TrainingLayout;
}

/** The export as it is, at every position, and why. */
export function allPositions(
  forward: onnx.ModelProto,
  adapter: Adapter,
  note: string | null,
): LastPositionForward {
  const mode = adapter.outputRank === 2 ? 'last-position' : 'all-positions';
  const outputRank = adapter.outputRank;
  return { proto: forward, layout: { mode, outputRank, lastPositionInput: null, note } };
}

/**
 * The forward graph to train: the verified last-position rewrite of `forward` when the loss
 * reads one position per row and the rewrite applies, else `forward` itself.
 */
export async function lastPositionForward(
  forward: onnx.ModelProto,
  adapter: Adapter,
  trainable: readonly string[],
  options: { perPosition: boolean; enabled?: boolean },
): Promise<LastPositionForward> {
  if (adapter.outputRank === 2) return allPositions(forward, adapter, null);
  if (options.perPosition) return allPositions(forward, adapter, 'the loss reads every position');
  if (options.enabled === false)
    return allPositions(forward, adapter, 'last-position rewrite turned off');
  const verified = await verifyLastPosition(forward, adapter);
  if (!verified.ok) return allPositions(forward, adapter, verified.note);
  await verified.session.release();
  const renamed = missingInitializers(forward, verified.rewrite.proto, trainable);
  if (renamed.length > 0) {
    const names = renamed.slice(0, 3).join(', ');
    return allPositions(forward, adapter, `the rewrite does not keep the weights ${names}`);
  }
  return {
    proto: verified.rewrite.proto,
    layout: {
      mode: 'rewritten',
      outputRank: 2,
      lastPositionInput: verified.rewrite.lastPositionInput,
      note: verified.note,
    },
  };
}

/**
 * Trainable initializers the rewrite lost or changed: each must still be there under its name,
 * with the same tensor, so training it trains the original's.
 */
export function missingInitializers(
  original: onnx.ModelProto,
  rewritten: onnx.ModelProto,
  trainable: readonly string[],
): string[] {
  const before = new Map(graphOf(original).initializer.map((t) => [t.name, t]));
  const after = new Map(graphOf(rewritten).initializer.map((t) => [t.name, t]));
  return trainable.filter((name) => !after.has(name) || after.get(name) !== before.get(name));
}
