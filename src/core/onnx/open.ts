/**
 * Opening a checkpoint to work on it: the model and its adapter (sidecar overrides applied).
 * Schemes and attacks start here; the model card (which also hashes the file) is built only
 * where a card is shown or recorded (report/modelCard.ts).
 */
import { detectAdapter, type Adapter } from './adapter';
import { readSidecar, sidecarPath } from './sidecar';
import { readModel, type LoadedModel } from './model';

export interface OpenedModel {
  model: LoadedModel;
  adapter: Adapter;
  /** The sidecar file read, or null when the model has none. */
  sidecar: string | null;
}

/** Load a model and detect its adapter. */
export async function openModel(file: string): Promise<OpenedModel> {
  const model = await readModel(file);
  const sidecar = await readSidecar(model.file);
  const adapter = detectAdapter(model, sidecar);
  return { model, adapter, sidecar: sidecar ? sidecarPath(model.file) : null };
}
