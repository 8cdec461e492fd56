/** Writing an embedding's outputs: the new model, then its key, both atomically. */
import { promises as fs } from 'node:fs';
import { writeModel, type onnx } from '../onnx/model';
import { writeKeyFile, type WatermarkKey } from './key';

/** Write the model, then the key; if the key cannot be written, the model is removed again. */
export async function writeModelAndKey(
  out: string,
  proto: onnx.ModelProto,
  key: { file: string; key: WatermarkKey } | null,
): Promise<void> {
  await writeModel(proto, out);
  if (!key) return;
  try {
    await writeKeyFile(key.file, key.key, true);
  } catch (err) {
    await fs.rm(out, { force: true });
    throw err;
  }
}
