/**
 * Secrets (issue 8, part 4): embed and verify with GREW and AOW through the CLI (text and
 * --json, --report-html) and through the extension's own command code (output channel,
 * notifications, messages to the webview, the `.recmark/reports/` store, Export HTML / JSON,
 * globalState), then search every output for the key material: the secret as hex (either
 * case), base64, base64 without padding, base64url and raw bytes; an AOW watermark sequence as
 * a contiguous id list (comma, comma-space, space and JSON forms, any 3 or more consecutive
 * ids, and int32/int64 little-endian in model bytes); GREW's packed green set and clusters.
 * Watermarked models are searched as raw bytes and as every string in the parsed ModelProto
 * (metadata, doc strings, names, attributes). Key files are the one place the secret belongs:
 * they are excluded from the search and must be mode 0600.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { onnx } from 'onnx-proto';
import { readKeyFile } from '../../src/core/watermark/keyFile';
import { fixture, ROOT, tempDir } from '../support/helpers';
import { cliNodeArgs } from '../support/cli';
import { movielensInteractionFile } from '../support/movielens';
import { answers, extensionContext, install, recorded, state, Uri } from '../support/vscodeStub';

install();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [...cliNodeArgs(), ...args],
      { cwd: ROOT, maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

const ws = tempDir('recmark-secrets-');
const models = path.join(ws, 'models');
const model = path.join(models, 'sasrec.onnx');
const data = movielensInteractionFile();

/** Every output a user or a log could see, by label. */
const texts = new Map<string, string>();
const binaries = new Map<string, Buffer>();
const keyFiles: string[] = [];

function addRun(label: string, r: Run): void {
  assert.equal(r.code, 0, `${label}: ${r.stderr}`);
  texts.set(`${label} stdout`, r.stdout);
  texts.set(`${label} stderr`, r.stderr);
}

/** Every string inside a parsed model: names, doc strings, metadata, string attributes. */
function modelStrings(bytes: Buffer): string {
  const proto = onnx.ModelProto.decode(bytes);
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (value instanceof Uint8Array) {
      // String attributes and string tensors are bytes in the proto.
      if (value.length < 4096) out.push(Buffer.from(value).toString('latin1'));
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) if (k !== 'rawData') walk(v);
  };
  walk(onnx.ModelProto.toObject(proto, { bytes: Buffer, longs: String, defaults: false }));
  return out.join('\n');
}

function addModel(label: string, file: string): void {
  const bytes = readFileSync(file);
  binaries.set(label, bytes);
  const strings = modelStrings(bytes);
  assert.ok(strings.length > 0);
  texts.set(`${label} (ModelProto strings)`, strings);
}

before(async () => {
  mkdirSync(models, { recursive: true });
  copyFileSync(fixture('sasrec_opset17.onnx'), model);
  const out = (name: string) => path.join(models, name);

  // ---- CLI -----------------------------------------------------------------------------------
  addRun(
    'embed grew',
    // With data: a weights embed then reaches its target in ~200 steps whatever the (random)
    // secret; without, one secret in six was refused (README, "How GREW is embedded").
    await cli([
      ...['embed', 'grew', model, '--out', out('g.onnx'), '--key-out', out('g.wmkey.json')],
      ...['--data', data],
    ]),
  );
  addRun(
    'embed grew --json',
    await cli([
      ...['embed', 'grew', model, '--out', out('g2.onnx'), '--key-out', out('g2.wmkey.json')],
      // The second GREW run takes the other mode, so both kinds of model are scanned.
      ...['--seed', '7', '--mode', 'serve', '--json'],
    ]),
  );
  addRun(
    'embed aow',
    await cli([
      ...['embed', 'aow', model, '--out', out('a.onnx'), '--key-out', out('a.wmkey.json')],
      ...['--data', data, '--min-steps', '10', '--max-steps', '300', '--lr', '0.003'],
    ]),
  );
  keyFiles.push(out('g.wmkey.json'), out('g2.wmkey.json'), out('a.wmkey.json'));
  addModel('GREW model (CLI)', out('g.onnx'));
  addModel('GREW model (CLI --json)', out('g2.onnx'));
  addModel('AOW model (CLI)', out('a.onnx'));
  for (const [scheme, marked, key] of [
    ['grew', out('g.onnx'), out('g.wmkey.json')],
    ['aow', out('a.onnx'), out('a.wmkey.json')],
  ]) {
    const html = path.join(ws, `${scheme}.cli.html`);
    const verify = ['verify', marked, '--key', key, '--probes', '200'];
    addRun(`verify ${scheme}`, await cli([...verify, '--report-html', html]));
    addRun(`verify ${scheme} --json`, await cli([...verify, '--json']));
    texts.set(`verify ${scheme} --report-html`, readFileSync(html, 'utf8'));
  }
  addRun(
    'verify, several keys --json',
    await cli([
      ...['verify', out('g.onnx'), '--key', out('a.wmkey.json'), '--key', out('g.wmkey.json')],
      ...['--probes', '200', '--json'],
    ]),
  );

  // ---- The extension's own paths ---------------------------------------------------------------
  state.folders = [ws];
  state.config = { probes: 200, dataFile: data };
  const context = extensionContext(ROOT);
  const { KeyStore } = await import('../../src/vscode/keyStore');
  const { embedGrewCommand } = await import('../../src/vscode/commands/embedGrew');
  const { exportKeyCommand, importKeyCommand } = await import('../../src/vscode/commands/keys');
  const { verifyWatermarkCommand } = await import('../../src/vscode/commands/verifyWatermark');
  const store = new KeyStore(context as never);

  answers.quickPick.push((items) =>
    items.find((i) => (i as unknown as { mode: string }).mode === 'weights'),
  );
  // δ 3, not the default 2: the command draws a fresh random key, and at δ 2 some keys end short
  // of z_w 6 after 1,500 steps on this fixture (CI saw 5.74), which is not what this test is about.
  answers.inputBox.push('3');
  answers.saveDialog.push(Uri.file(out('x.grew.onnx')));
  await embedGrewCommand(store, Uri.file(model) as never);
  addModel('GREW model (VS Code)', out('x.grew.onnx'));
  const [grewInfo] = store.list();

  // Export Key: the one place the secret leaves SecretStorage.
  answers.quickPick.push((items) => items[0]);
  // Inside the workspace, so Export warns that it can be committed; the test saves there anyway.
  answers.message.push('Export', 'Save Here Anyway');
  answers.saveDialog.push(Uri.file(path.join(ws, 'exported.wmkey.json')));
  await exportKeyCommand(store);
  keyFiles.push(path.join(ws, 'exported.wmkey.json'));

  await importKeyCommand(store, Uri.file(out('a.wmkey.json')) as never);
  const aowInfo = store.list().find((k) => k.scheme === 'aow')!;

  for (const [info, marked] of [
    [grewInfo, out('x.grew.onnx')],
    [aowInfo, out('a.onnx')],
  ] as const) {
    answers.quickPick.push((items) =>
      items.find((i) => (i as { description?: string }).description?.includes(info.keyId)),
    );
    await verifyWatermarkCommand(context as never, store, Uri.file(marked) as never);
    // Play the webview: ready (the host posts the report), then Export HTML and Export JSON.
    // The panel handles messages without returning its promise: wait for the effect.
    const handler = recorded.webviewHandlers.at(-1)!;
    const posted = recorded.posted.length;
    handler({ type: 'ready' });
    await until(() => recorded.posted.length > posted, 'the report was posted');
    const html = path.join(ws, `${info.scheme}.exported.html`);
    const json = path.join(ws, `${info.scheme}.exported.json`);
    answers.saveDialog.push(Uri.file(html));
    handler({ type: 'action', action: 'exportHtml' });
    await until(() => existsSync(html), `${html} was exported`);
    answers.saveDialog.push(Uri.file(json));
    handler({ type: 'action', action: 'exportJson' });
    await until(() => existsSync(json), `${json} was exported`);
    texts.set(`VS Code Export HTML (${info.scheme})`, readFileSync(html, 'utf8'));
    texts.set(`VS Code Export JSON (${info.scheme})`, readFileSync(json, 'utf8'));
  }
  const reports = path.join(ws, '.recmark', 'reports');
  for (const name of readdirSync(reports))
    texts.set(`.recmark/reports/${name}`, readFileSync(path.join(reports, name), 'utf8'));
  texts.set('output channel', recorded.log.join('\n'));
  texts.set('notifications', recorded.notifications.join('\n'));
  texts.set('messages to the webview', JSON.stringify(recorded.posted));
  texts.set('webview HTML', recorded.html.join('\n'));
  texts.set('globalState', JSON.stringify(context.dump().globalState));
});

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(done(), `timed out waiting until ${what}; log: ${recorded.log.join(' | ')}`);
}

interface Needle {
  what: string;
  text: string[];
  bytes: Buffer[];
}

function secretNeedles(file: string, secretHex: string): Needle {
  const raw = Buffer.from(secretHex, 'hex');
  const b64 = raw.toString('base64');
  const forms = [secretHex, b64, b64.replace(/=+$/, ''), raw.toString('base64url')];
  return {
    what: `secret of ${path.basename(file)}`,
    text: forms,
    bytes: [raw, ...forms.map((f) => Buffer.from(f)), Buffer.from(secretHex.toUpperCase())],
  };
}

function sequenceNeedles(file: string, sequence: number[]): Needle {
  const runs: number[][] = [];
  for (let len = 3; len <= sequence.length; len++)
    for (let i = 0; i + len <= sequence.length; i++) runs.push(sequence.slice(i, i + len));
  const text = runs.flatMap((r) => [r.join(','), r.join(', '), r.join(' '), JSON.stringify(r)]);
  const i32 = Buffer.alloc(4 * sequence.length);
  const i64 = Buffer.alloc(8 * sequence.length);
  sequence.forEach((id, i) => {
    i32.writeInt32LE(id, 4 * i);
    i64.writeBigInt64LE(BigInt(id), 8 * i);
  });
  return {
    what: `AOW sequence of ${path.basename(file)} (${sequence.join(', ')})`,
    text,
    bytes: [i32, i64, ...text.map((t) => Buffer.from(t))],
  };
}

function needles(): Needle[] {
  const list: Needle[] = [];
  for (const file of keyFiles) {
    const key = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.match(String(key.secret), /^[0-9a-f]{64}$/, `${file} holds its secret`);
    list.push(secretNeedles(file, String(key.secret)));
    if (key.scheme === 'aow') list.push(sequenceNeedles(file, key.sequence as number[]));
    if (key.scheme === 'grew') {
      const packed = [String(key.green), String(key.clusters)];
      list.push({
        what: `packed green set / clusters of ${path.basename(file)}`,
        text: packed,
        bytes: packed.map((p) => Buffer.from(p)),
      });
    }
  }
  return list;
}

test('the outputs were all produced (the scan below is not vacuous)', () => {
  for (const label of [
    'embed grew stdout',
    'embed grew stderr',
    'embed grew --json stdout',
    'embed aow stdout',
    'embed aow stderr',
    'verify grew --json stdout',
    'verify aow --report-html',
    'output channel',
    'messages to the webview',
    'VS Code Export HTML (aow)',
    'VS Code Export JSON (grew)',
  ])
    assert.ok((texts.get(label) ?? '').length > 0, `${label} is empty`);
  const names = [...texts.keys()];
  assert.equal(names.filter((n) => n.startsWith('.recmark/reports/')).length, 2, names.join(', '));
  assert.match(texts.get('output channel')!, /Embedded GREW key [0-9a-f]{16}/);
  assert.match(texts.get('output channel')!, /Verified .* with key/);
  const posted = recorded.posted as { type: string; report?: { scheme: string } }[];
  assert.deepEqual(
    new Set(posted.filter((m) => m.type === 'report').map((m) => m.report!.scheme)),
    new Set(['grew', 'aow']),
  );
  // The scan would see a leak: the key files themselves hold every needle.
  for (const n of needles()) {
    const keyText = keyFiles.map((f) => readFileSync(f, 'utf8')).join('\n');
    assert.ok(
      n.text.some((t) => keyText.includes(t) || keyText.replace(/\s+/g, ' ').includes(t)),
      n.what,
    );
  }
});

test('no output holds a secret, a watermark sequence or a packed green set, in any encoding', () => {
  const leaks: string[] = [];
  const list = needles();
  assert.ok(list.length >= 8, `${list.length} needles`);
  for (const [label, text] of texts) {
    const lower = text.toLowerCase();
    for (const n of list)
      for (const form of n.text)
        if (text.includes(form) || (/^[0-9a-f]+$/.test(form) && lower.includes(form)))
          leaks.push(`${n.what} in ${label} (as ${form.slice(0, 24)}…)`);
  }
  for (const [label, bytes] of binaries)
    for (const n of list)
      for (const form of n.bytes)
        if (bytes.includes(form)) leaks.push(`${n.what} in the bytes of ${label}`);
  assert.deepEqual(leaks, []);
});

test('reports carry no field for key material', () => {
  const banned = /^(secret|sequence|green|clusters)$/i;
  const check = (label: string, json: string): void =>
    void JSON.parse(json, (key, value: unknown) => {
      assert.doesNotMatch(key, banned, `${label} has a "${key}" field`);
      return value;
    });
  let checked = 0;
  for (const [label, text] of texts) {
    if (label.endsWith('--json stdout')) check(label, text);
    else if (label.startsWith('.recmark/') || label.startsWith('VS Code Export JSON'))
      check(label, text);
    else continue;
    checked++;
  }
  for (const m of recorded.posted) check('a message to the webview', JSON.stringify(m));
  // embed grew, verify grew, verify aow, verify several keys; two saved reports; two exports.
  assert.equal(checked, 4 + 2 + 2);
});

test('key files (CLI and Export Key) hold the secret and are readable by their owner only', async () => {
  assert.equal(keyFiles.length, 4);
  for (const file of keyFiles) {
    assert.equal(statSync(file).mode & 0o777, 0o600, file);
    assert.ok((await readKeyFile(file)).secret, file);
  }
  // No partial or stray files next to the outputs.
  assert.deepEqual(readdirSync(models).sort(), [
    'a.onnx',
    'a.wmkey.json',
    'g.onnx',
    'g.wmkey.json',
    'g2.onnx',
    'g2.wmkey.json',
    'sasrec.onnx',
    'x.grew.onnx',
  ]);
});

test('no log call passes key material (every log.* call site in src/)', () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(ROOT, 'src'));
  let calls = 0;
  const offenders: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    // Each call with its arguments (balanced parentheses, template literals included).
    for (const start of [...text.matchAll(/\blog\.(info|warn|error)\(/g)].map((m) => m.index!)) {
      let depth = 0;
      let end = start;
      for (let i = text.indexOf('(', start); i < text.length; i++) {
        if (text[i] === '(') depth++;
        else if (text[i] === ')' && --depth === 0) {
          end = i;
          break;
        }
      }
      // "secret storage" is VS Code's SecretStorage, named in messages; not key material.
      const call = text.slice(start, end + 1).replace(/secret storage/gi, '');
      calls++;
      if (
        /secret|\.sequence\b|\.green\b|\.clusters\b|keyToJson|keyFileText|JSON\.stringify\(\s*key/i.test(
          call,
        )
      )
        offenders.push(`${path.relative(ROOT, file)}: ${call}`);
    }
  }
  assert.ok(calls >= 10, `found only ${calls} log calls; the scan is broken`);
  assert.deepEqual(offenders, []);
});

test('a key file that is not JSON is reported without quoting it', async () => {
  const dir = tempDir();
  const secret = 'a8fb44d9a149c634'.repeat(4);
  const cases = [
    secret,
    `secret: ${secret}`,
    `{"scheme": "grew", "secret": "${secret}", "n": NaN}`,
    `{"scheme": "grew",\n "secret": "${secret}",\n}`,
    `{"scheme": "aow", "sequence": [3221, 1524, 967, 272, 1242], "x": undefined}`,
  ];
  for (const [i, text] of cases.entries()) {
    const file = path.join(dir, `${i}.wmkey.json`);
    writeFileSync(file, text);
    await assert.rejects(readKeyFile(file), (err: Error) => {
      assert.match(err.message, /not valid JSON/);
      assert.ok(!err.message.includes(secret.slice(0, 6)), err.message);
      assert.ok(!err.message.includes('a8fb'), err.message);
      assert.ok(!err.message.includes('1242'), err.message);
      return true;
    });
  }
  await assert.rejects(
    readKeyFile(path.join(dir, '3.wmkey.json')),
    /not valid JSON at line 3, column 1\./,
  );
});
