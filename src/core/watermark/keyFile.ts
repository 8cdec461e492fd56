/** `*.wmkey.json` files: the one module that reads or writes them. */
import { RecMarkError } from '../errors';
import { limits, raiseHint } from '../limits';
import { readInputFile, writeFileAtomic } from '../util/files';
import type { WatermarkKey } from './key';
import { keyFromJson, keyToJson, parseKeyJson } from './keyJson';

export async function readKeyFile(file: string): Promise<WatermarkKey> {
  let text: string;
  try {
    const maxBytes = limits().keyBytes;
    const bytes = await readInputFile(file, {
      what: 'Key file',
      code: 'key-not-a-file',
      maxBytes,
      tooLarge: (size) =>
        new RecMarkError(
          `Key file ${file} is ${size.toLocaleString('en-US')} bytes, above the ${maxBytes.toLocaleString('en-US')}-byte ` +
            `limit for key files; check it is a *.wmkey.json file, or ${raiseHint('keyBytes')}.`,
          'key-too-large',
        ),
    });
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof RecMarkError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RecMarkError(
      code === 'ENOENT'
        ? `Key file not found: ${file}`
        : `Cannot read key file ${file}: ${(err as Error).message}`,
      'key-missing',
    );
  }
  return keyFromJson(parseKeyJson(text, file), file);
}

/** Key files are readable only by their owner. */
export const KEY_FILE_MODE = 0o600;

/** The text of a key file. */
export function keyFileText(key: WatermarkKey, includeSecret = true): string {
  return `${JSON.stringify(keyToJson(key, includeSecret), null, 2)}\n`;
}

/** Write a key file readable only by its owner (mode 0600), atomically. */
export async function writeKeyFile(
  file: string,
  key: WatermarkKey,
  includeSecret = true,
): Promise<void> {
  await writeFileAtomic(file, keyFileText(key, includeSecret), { mode: KEY_FILE_MODE });
}
