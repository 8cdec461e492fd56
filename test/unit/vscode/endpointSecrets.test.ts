/**
 * Endpoint secrets in VS Code are bound to the origin they were given for (issue 15): the
 * Verify Watermark on Endpoint command driven through the vscode stub against 127.0.0.1
 * services. Same origin: sent without a prompt. Another origin: a modal naming both origins;
 * declined, the other service gets no request and nothing is stored; accepted, it is sent (and
 * the binding stays). An old unbound value is asked for again. Secrets never go in a URL or body.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { parseProfile } from '../../../src/core/endpoint/profileParser';
import {
  decideSecretRelease,
  decodeStoredSecret,
  profileOrigin,
} from '../../../src/core/endpoint/secretOrigin';
import { RecMarkError } from '../../../src/core/errors';
import { keyFromJson } from '../../../src/core/watermark/keyJson';
import { tempDir, ROOT } from '../../support/helpers';
import { hostileServer } from '../redteam/harness';
import {
  answers,
  extensionContext,
  install,
  recorded,
  resetRecorded,
  state,
  Uri,
} from '../../support/vscodeStub';

install();

const TOKEN = 'tok-5b1f0c9e2d7a4433';
const ws = tempDir('recmark-endpoint-secrets-');
const SECRET_NAME = 'recmark.endpointSecret.apiToken';

/** A service that ranks items 1..20 in order, whatever it is asked. */
const ranking = () =>
  hostileServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => i + 1) }));
  });
type Server = Awaited<ReturnType<typeof ranking>>;
const servers: Server[] = [];
after(async () => Promise.all(servers.map((s) => s.close())));

async function server(): Promise<Server> {
  const s = await ranking();
  servers.push(s);
  return s;
}

function profileFile(name: string, url: string): string {
  const file = path.join(ws, `${name}.recmark-endpoint.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      url,
      method: 'POST',
      headers: { Authorization: 'Bearer ${secret:apiToken}' },
      request: { items: '${items}' },
      response: { items: '$.items' },
      numItems: 20,
      budget: 50,
    }),
  );
  return file;
}

/** Run the command on a profile with a stored minimal AOW key; returns the context used. */
async function audit(
  profile: string,
  stored: Record<string, string>,
): Promise<ReturnType<typeof extensionContext>> {
  const context = extensionContext(ROOT);
  for (const [k, v] of Object.entries(stored)) await context.secrets.store(k, v);
  const { KeyStore } = await import('../../../src/vscode/keyStore');
  const { verifyEndpointCommand } = await import('../../../src/vscode/commands/verifyEndpoint');
  const store = new KeyStore(context as never);
  await store.add(keyFromJson({ scheme: 'aow', sequence: [3, 17, 8, 12] }), 'test key');
  answers.quickPick.push((items) => items[0]);
  await verifyEndpointCommand(context as never, store, Uri.file(profile) as never);
  return context;
}

const bound = (origin: string, value = TOKEN): string => JSON.stringify({ origin, value });
const authorized = (s: Server): number =>
  s.requests.filter((r) => r.headers.authorization === `Bearer ${TOKEN}`).length;

beforeEach(() => {
  resetRecorded();
  answers.message.length = 0;
  answers.inputBox.length = 0;
  answers.quickPick.length = 0;
  state.folders = [ws];
  state.config = {};
});

test('the decision: same origin released, another confirmed, unbound or none asked', () => {
  const a = 'http://127.0.0.1:1';
  assert.deepEqual(decideSecretRelease(undefined, a), { kind: 'ask' });
  assert.deepEqual(decideSecretRelease({ origin: a, value: 'v' }, a), {
    kind: 'release',
    value: 'v',
  });
  assert.deepEqual(decideSecretRelease({ origin: a, value: 'v' }, 'http://127.0.0.1:2'), {
    kind: 'confirm',
    value: 'v',
    givenFor: a,
  });
  assert.equal(decodeStoredSecret('plain-old-token'), undefined);
  assert.equal(
    profileOrigin('https://Api.Example.com:443/rec?items=${items}'),
    'https://api.example.com',
  );
  assert.throws(() => profileOrigin('http://${k}.example.com/rec'), /no fixed origin/);
});

test('a secret named outside the headers is refused: URL, query, body', () => {
  const base = { response: { items: '$.items' }, numItems: 20 };
  const refused = (p: Record<string, unknown>) =>
    assert.throws(
      () => parseProfile({ ...base, ...p }),
      (e: unknown) => e instanceof RecMarkError && /secrets go in "headers" only/.test(e.message),
    );
  refused({ url: 'http://127.0.0.1:1/${secret:apiToken}/rec?items=${items}' });
  refused({ url: 'http://127.0.0.1:1/rec?items=${items}&token=${secret:apiToken}' });
  refused({
    url: 'http://127.0.0.1:1/rec',
    method: 'POST',
    request: { items: '${items}', token: '${secret:apiToken}' },
  });
});

test('same origin: the stored secret is sent without a prompt', async () => {
  const s = await server();
  await audit(profileFile('same', s.url), { [SECRET_NAME]: bound(s.origin) });
  assert.ok(!recorded.ui.includes('showInputBox'), recorded.ui.join());
  assert.ok(!recorded.ui.includes('showWarningMessage'), recorded.ui.join());
  assert.ok(authorized(s) > 0);
  assert.equal(authorized(s), s.requests.length);
});

test('another origin, declined: a modal names both origins, no request is sent, nothing stored', async () => {
  const home = await server();
  const evil = await server();
  answers.message.push(undefined);
  const context = await audit(profileFile('evil', evil.url), { [SECRET_NAME]: bound(home.origin) });
  const modal = recorded.notifications.find((n) => n.includes('given for'));
  assert.ok(modal, recorded.notifications.join('\n'));
  assert.ok(modal.includes(evil.origin) && modal.includes(home.origin), modal);
  assert.ok(!modal.includes(TOKEN));
  assert.equal(evil.requests.length, 0);
  assert.deepEqual(context.dump().secrets[SECRET_NAME], bound(home.origin));
  assert.ok(!recorded.ui.includes('createWebviewPanel'));
});

test('another origin, accepted: sent there, and the secret stays bound to its origin', async () => {
  const home = await server();
  const other = await server();
  answers.message.push(`Send to ${other.origin}`);
  const context = await audit(profileFile('other', other.url), {
    [SECRET_NAME]: bound(home.origin),
  });
  assert.ok(authorized(other) > 0);
  assert.equal(home.requests.length, 0);
  assert.deepEqual(context.dump().secrets[SECRET_NAME], bound(home.origin));
});

test('an old value stored without an origin is asked for again, then bound', async () => {
  const s = await server();
  answers.inputBox.push(TOKEN);
  const context = await audit(profileFile('legacy', s.url), { [SECRET_NAME]: 'old-plain-token' });
  assert.ok(recorded.ui.includes('showInputBox'));
  assert.ok(!s.requests.some((r) => String(r.headers.authorization).includes('old-plain-token')));
  assert.ok(authorized(s) > 0);
  assert.deepEqual(context.dump().secrets[SECRET_NAME], bound(s.origin));
});

test('an old value, and the question dismissed: nothing is sent', async () => {
  const s = await server();
  answers.inputBox.push(undefined);
  await audit(profileFile('dismissed', s.url), { [SECRET_NAME]: 'old-plain-token' });
  assert.equal(s.requests.length, 0);
});
