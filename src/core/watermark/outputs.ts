/** Writing an embedding's outputs: the new model and its key, both atomically. */
import { promises as fs } from 'node:fs';
import { modelFileBytes, type onnx } from '../onnx/model';
import { prepareFileAtomic } from '../util/files';
import type { WatermarkKey } from './key';
import { KEY_FILE_MODE, keyFileText } from './keyFile';

/**
 * Write the model and its key. Both are written to partial files and synced first; then the key
 * is renamed into place, then the model. A failure (a full disk, say) before the renames leaves
 * neither; a model never appears without its key (a watermarked model whose key is lost could
 * never be verified). If the model's rename fails, the new key is removed again.
 */
export async function writeModelAndKey(
  out: string,
  proto: onnx.ModelProto,
  key: { file: string; key: WatermarkKey } | null,
): Promise<void> {
  const bytes = modelFileBytes(proto);
  const keyFile = key
    ? await prepareFileAtomic(key.file, keyFileText(key.key, true), { mode: KEY_FILE_MODE })
    : null;
  let model;
  try {
    model = await prepareFileAtomic(out, bytes);
  } catch (err) {
    await keyFile?.discard();
    throw err;
  }
  if (keyFile) {
    try {
      await keyFile.commit();
    } catch (err) {
      await model.discard();
      throw err;
    }
  }
  try {
    await model.commit();
  } catch (err) {
    if (keyFile) await fs.rm(keyFile.file, { force: true });
    throw err;
  }
}
