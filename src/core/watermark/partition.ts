/**
 * GREW's semantic-consistent hashing (DESIGN.md §4): k-means on the item embeddings, then a keyed,
 * stratified green/red split inside every cluster, so each semantic region is γ green.
 */
import { RecMarkError } from '../errors';
import type { Adapter } from '../onnx/adapter';
import { GraphIndex, tensorDims, tensorFloat32 } from '../onnx/graph';
import { graphOf, type LoadedModel } from '../onnx/model';
import { greenFromClusters, keyedSeed, NOT_AN_ITEM } from './key';

export { greenFromClusters };
import { normalizeRows, sphericalKMeans } from './kmeans';

export interface Partition {
  numClusters: number;
  /** Cluster per id 0..scoreWidth-1 (NOT_AN_ITEM for pad/mask). */
  clusters: Uint16Array;
  /** Green flag per id. */
  green: Uint8Array;
}

export const MAX_CLUSTERS = 256;

export function defaultClusterCount(numItems: number): number {
  return Math.max(1, Math.min(MAX_CLUSTERS, Math.round(Math.sqrt(numItems / 2))));
}

/** The real items' embedding rows (unit-normalised), in adapter.itemIds order. */
export function itemEmbeddings(
  model: LoadedModel,
  adapter: Adapter,
): { vectors: Float32Array; dim: number } {
  if (!adapter.itemEmbedding) {
    throw new RecMarkError(
      'GREW needs the item-embedding table to cluster items, and none was found. Set "itemEmbedding" ' +
        'in the sidecar <model>.onnx.recmark.json to the initializer holding item vectors.',
      'adapter-no-embedding',
    );
  }
  const g = new GraphIndex(graphOf(model.proto));
  const tensor = g.initializers.get(adapter.itemEmbedding)!;
  const dims = tensorDims(tensor);
  const table = tensorFloat32(tensor);
  // Row-per-id ([rows, d]) is the usual layout; a [d, W] output projection is read transposed.
  const byRow = dims[0] >= adapter.scoreWidth || dims[1] < adapter.scoreWidth;
  const [rows, dim] = byRow ? dims : [dims[1], dims[0]];
  const maxId = adapter.itemIds[adapter.itemIds.length - 1];
  if (dims.length !== 2 || rows <= maxId) {
    throw new RecMarkError(
      `Item embedding "${adapter.itemEmbedding}" has shape [${dims.join(', ')}], too small for item id ${maxId}.`,
      'adapter-no-embedding',
    );
  }
  const vectors = new Float32Array(adapter.itemIds.length * dim);
  adapter.itemIds.forEach((id, i) => {
    for (let d = 0; d < dim; d++)
      vectors[i * dim + d] = byRow ? table[id * dim + d] : table[d * rows + id];
  });
  return { vectors: normalizeRows(vectors, dim), dim };
}

export async function semanticPartition(
  model: LoadedModel,
  adapter: Adapter,
  secret: Uint8Array,
  options: {
    gamma: number;
    clusters?: number;
    signal?: AbortSignal;
    onProgress?: (iteration: number) => void;
  },
): Promise<Partition> {
  const { vectors, dim } = itemEmbeddings(model, adapter);
  const numClusters = options.clusters ?? defaultClusterCount(adapter.numItems);
  const { assignment } = await sphericalKMeans(vectors, dim, {
    clusters: numClusters,
    seed: keyedSeed(secret, 'kmeans'),
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const clusters = new Uint16Array(adapter.scoreWidth).fill(NOT_AN_ITEM);
  adapter.itemIds.forEach((id, i) => (clusters[id] = assignment[i]));
  return { numClusters, clusters, green: greenFromClusters(clusters, secret, options.gamma) };
}
