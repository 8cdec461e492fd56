/**
 * Watermark keys inside VS Code: the full key (with its secret) in SecretStorage, a small index
 * of key ids and labels in globalState. Only key ids are ever logged or shown.
 */
import * as vscode from 'vscode';
import type { WatermarkKey } from '../core/watermark/key';
import { keyFromJson, keyToJson, parseKeyJson } from '../core/watermark/keyJson';

export interface StoredKeyInfo {
  keyId: string;
  scheme: 'grew' | 'aow';
  label: string;
  modelSha256?: string;
  createdAt?: string;
}

const INDEX = 'recmark.keys';
const secretName = (keyId: string): string => `recmark.key.${keyId}`;

export class KeyStore {
  constructor(private readonly context: vscode.ExtensionContext) {}

  list(): StoredKeyInfo[] {
    return this.context.globalState.get<StoredKeyInfo[]>(INDEX, []);
  }

  async add(key: WatermarkKey, label: string): Promise<void> {
    await this.context.secrets.store(secretName(key.keyId), JSON.stringify(keyToJson(key, true)));
    const info: StoredKeyInfo = {
      keyId: key.keyId,
      scheme: key.scheme,
      label,
      modelSha256: key.model?.sha256,
      createdAt: key.createdAt,
    };
    await this.context.globalState.update(INDEX, [
      info,
      ...this.list().filter((k) => k.keyId !== key.keyId),
    ]);
  }

  async get(keyId: string): Promise<WatermarkKey | null> {
    const text = await this.context.secrets.get(secretName(keyId));
    if (!text) return null;
    const label = `stored key ${keyId}`;
    return keyFromJson(parseKeyJson(text, label), label);
  }

  async remove(keyId: string): Promise<void> {
    await this.context.secrets.delete(secretName(keyId));
    await this.context.globalState.update(
      INDEX,
      this.list().filter((k) => k.keyId !== keyId),
    );
  }
}
