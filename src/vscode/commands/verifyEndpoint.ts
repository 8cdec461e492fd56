/**
 * Verify Watermark on Endpoint — audit a live recommendation service described by a
 * `*.recmark-endpoint.json` profile; and New Endpoint Profile, which writes a template to edit.
 * Secrets the profile names (`${secret:apiToken}`) are asked for once and kept in SecretStorage,
 * bound to the origin they were given for (core/endpoint/secretOrigin.ts): another origin gets
 * one only after a modal confirmation, so a cloned repository's profile cannot take it silently.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pClause } from '../../core/report/plain';
import * as notify from '../notify';
import { ENDPOINT_CACHE_DIR } from '../../core/endpoint/cache';
import { PROFILE_SUFFIX, profileTemplate } from '../../core/endpoint/profile';
import { readProfile } from '../../core/endpoint/profileParser';
import { secretNames } from '../../core/endpoint/profileSecrets';
import {
  decideSecretRelease,
  decodeStoredSecret,
  encodeStoredSecret,
  profileOrigin,
} from '../../core/endpoint/secretOrigin';
import { verifyEndpoint } from '../../core/endpoint/verify';
import { RecMarkError } from '../../core/errors';
import type { WatermarkKey } from '../../core/watermark/key';
import type { KeyStore } from '../keyStore';
import { log } from '../log';
import { auditSettings, reportsRoot, settings } from '../settings';
import { importKeyCommand, pickStoredKey } from './keys';
import { withCancellableProgress } from './progress';
import { saveAndShowReport } from './showReport';

const secretKey = (name: string): string => `recmark.endpointSecret.${name}`;

export async function verifyEndpointCommand(
  context: vscode.ExtensionContext,
  store: KeyStore,
  uri?: vscode.Uri,
): Promise<void> {
  const profileUri = uri instanceof vscode.Uri ? uri : await pickProfile();
  if (!profileUri) return;
  // Validate before asking anything else: a bad profile is an error naming the field.
  const profile = await readProfile(profileUri.fsPath);
  const key = await chooseKey(store);
  if (!key) return;
  const secrets = await askSecrets(context, secretNames(profile), profile.name, profile.url);
  if (!secrets) return;
  await runAudit(context, profileUri, key, secrets);
}

async function pickProfile(): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles(
    `**/*${PROFILE_SUFFIX}`,
    '**/node_modules/**',
    100,
  );
  if (found.length === 0) {
    const choice = await notify.showInformationMessage(
      `No endpoint profile (*${PROFILE_SUFFIX}) in this workspace.`,
      'Create One',
    );
    if (choice === 'Create One') await newEndpointProfileCommand();
    return undefined;
  }
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((u) => ({
      label: path.basename(u.fsPath),
      description: vscode.workspace.asRelativePath(u),
      uri: u,
    })),
    { title: 'Audit which endpoint?' },
  );
  return picked?.uri;
}

async function chooseKey(store: KeyStore): Promise<WatermarkKey | undefined> {
  const picked = await pickStoredKey(store, 'Verify the endpoint with which key?', true, false);
  if (!picked || picked === 'all') return undefined;
  if (picked === 'import') return (await importKeyCommand(store)) ?? undefined;
  const key = await store.get(picked.keyId);
  if (!key) throw new Error('The chosen key is no longer in secret storage.');
  return key;
}

interface Secrets {
  values: Map<string, string>;
  /** Names stored for this profile's origin: the ones a refused credential clears. */
  own: string[];
}

/** Every secret the profile names, released for its origin, confirmed, or asked for. */
async function askSecrets(
  context: vscode.ExtensionContext,
  names: string[],
  endpoint: string,
  url: string,
): Promise<Secrets | undefined> {
  const secrets: Secrets = { values: new Map(), own: [] };
  if (names.length === 0) return secrets;
  const origin = profileOrigin(url);
  for (const name of names) {
    const stored = decodeStoredSecret(await context.secrets.get(secretKey(name)));
    const decision = decideSecretRelease(stored, origin);
    let value: string | undefined;
    if (decision.kind === 'release') value = decision.value;
    else if (decision.kind === 'confirm') {
      if (!(await confirmOtherOrigin(name, endpoint, origin, decision.givenFor))) return undefined;
      secrets.values.set(name, decision.value);
      continue;
    } else {
      value = await vscode.window.showInputBox({
        title: `Secret "${name}" for ${endpoint} (${origin})`,
        prompt: `The endpoint profile references \${secret:${name}}. It is kept in VS Code's secret storage, never in the profile, and sent only to ${origin}.`,
        password: true,
        ignoreFocusOut: true,
      });
      if (!value) return undefined;
      await context.secrets.store(secretKey(name), encodeStoredSecret({ origin, value }));
    }
    secrets.values.set(name, value);
    secrets.own.push(name);
  }
  return secrets;
}

/** A modal naming both origins; anything but the button sends nothing. */
async function confirmOtherOrigin(
  name: string,
  endpoint: string,
  origin: string,
  givenFor: string,
): Promise<boolean> {
  const send = `Send to ${origin}`;
  const choice = await notify.showWarningMessage(
    `The endpoint profile ${endpoint} wants to send the secret "${name}" to ${origin}, but it was given for ${givenFor}. ` +
      'A profile from a cloned repository can point anywhere; send it only if you trust this host.',
    { modal: true },
    send,
  );
  if (choice === send) return true;
  log.info(`Did not send "${name}" to ${origin} (it was given for ${givenFor}).`);
  return false;
}

async function runAudit(
  context: vscode.ExtensionContext,
  profileUri: vscode.Uri,
  key: WatermarkKey,
  secrets: Secrets,
): Promise<void> {
  const s = settings();
  const root = reportsRoot(profileUri);
  const name = path.basename(profileUri.fsPath);
  let report;
  try {
    report = await withCancellableProgress(
      `RecMark: auditing the endpoint ${name}`,
      (signal, progress) =>
        verifyEndpoint({
          profile: profileUri.fsPath,
          key,
          ...auditSettings(s),
          secrets: (n) => secrets.values.get(n),
          cacheDir: root ? path.join(root, ENDPOINT_CACHE_DIR) : null,
          signal,
          progress,
        }),
    );
  } catch (err) {
    if (err instanceof RecMarkError && err.code === 'endpoint-auth') {
      // A refused credential must not be offered again silently; one given for another origin
      // is left alone (that host's refusal says nothing about it).
      for (const n of secrets.own) await context.secrets.delete(secretKey(n));
      if (secrets.own.length === 0) throw err;
      throw new RecMarkError(
        `${err.message} The stored secret was cleared; you will be asked for it again.`,
        err.code,
      );
    }
    throw err;
  }
  const e = report.endpoint!;
  await saveAndShowReport(
    context,
    profileUri,
    report,
    `Verified endpoint ${e.name} with key ${report.keyId}: ${report.verdict} (${pClause(report.pValueText)}); ` +
      `${e.queries.spent} queries spent, ${e.probes.lost} of ${e.probes.wanted} probes lost`,
    () => runAudit(context, profileUri, key, secrets),
  );
}

/** Write a profile template into the workspace and open it (the JSON schema guides the edit). */
export async function newEndpointProfileCommand(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder)
    throw new RecMarkError('Open a folder first: the profile is saved in the workspace.', 'usage');
  const name = await vscode.window.showInputBox({
    title: 'New endpoint profile',
    prompt: 'A name for the recommendation service (used for the file name too)',
    value: 'my-service',
    validateInput: (v) =>
      /^[\w .-]{1,60}$/.test(v.trim()) ? undefined : 'Letters, digits, spaces, . _ - (up to 60)',
  });
  if (!name) return;
  const slug = name.trim().replace(/\s+/g, '-').toLowerCase();
  const file = path.join(folder.uri.fsPath, `${slug}${PROFILE_SUFFIX}`);
  if (existsSync(file))
    throw new RecMarkError(`${path.basename(file)} already exists; open and edit it.`, 'usage');
  await fs.writeFile(file, `${JSON.stringify(profileTemplate(name.trim()), null, 2)}\n`, {
    flag: 'wx',
  });
  log.info(`Wrote endpoint profile ${file}.`);
  await vscode.window.showTextDocument(vscode.Uri.file(file));
}
