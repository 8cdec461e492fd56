/**
 * Endpoint audits against a real HTTP service on loopback (test/support/recServer.ts serving
 * fixtures through onnxruntime): the verdict through the endpoint matches the checkpoint's for
 * GREW, AOW and a clean model; 20% injected faults; cancel and resume without paying twice; the
 * query budget; the CLI with a secret from the environment.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { verifyEndpoint } from '../../../../src/core/endpoint/verify';
import type { EndpointProfile } from '../../../../src/core/endpoint/profile';
import { parseProfile } from '../../../../src/core/endpoint/profileParser';
import { CancelledError } from '../../../../src/core/errors';
import type { AuditReport } from '../../../../src/core/report/report';
import { embedAow } from '../../../../src/core/watermark/aow';
import { embedGrew } from '../../../../src/core/watermark/grew';
import type { AowKey, GrewKey } from '../../../../src/core/watermark/key';
import { verifyWithKey } from '../../../../src/core/watermark/verify';
import { startRecServer, type RecServer, type RecServerOptions } from '../../../support/recServer';
import { fixture, runCli, tempDir } from '../../../support/helpers';
import { movielensInteractionFile } from '../../../support/movielens';
import { assertCounted, recordProgress } from '../../../support/progressCounts';

const clean = fixture('sasrec_opset17.onnx');
const itemMap = fixture('item_map.csv');
const dir = tempDir('recmark-endpoint-');
const grewModel = path.join(dir, 'grew.onnx');
const grewKeyFile = path.join(dir, 'grew.wmkey.json');
const aowModel = path.join(dir, 'aow.onnx');
const aowKeyFile = path.join(dir, 'aow.wmkey.json');
let grewKey: GrewKey;
let aowKey: AowKey;
let data: string;
const servers: RecServer[] = [];

async function serve(
  options: Omit<RecServerOptions, 'model'> & { model: string },
): Promise<RecServer> {
  const server = await startRecServer(options);
  servers.push(server);
  return server;
}

/** A profile for the test server: ids + scores through the MovieLens id map unless told otherwise. */
function profileFor(server: RecServer, extra: Record<string, unknown> = {}): EndpointProfile {
  return parseProfile({
    name: 'test server',
    url: server.url,
    request: { items: '${items}', k: '${k}' },
    response: { items: '$.items', scores: '$.scores' },
    idMap: { file: itemMap, modelColumn: 'index', serviceColumn: 'movieId' },
    rateLimit: 5000,
    concurrency: 4,
    budget: null,
    ...extra,
  });
}

before(async () => {
  data = movielensInteractionFile();
  // Fixed secrets; small settings so the embeds take seconds (what is under test is the audit).
  grewKey = (
    await embedGrew({
      model: clean,
      out: grewModel,
      keyOut: grewKeyFile,
      secret: Buffer.alloc(32, 7),
      probes: 200,
      // The served head: the audit sees the same rankings either way, in seconds.
      mode: 'serve',
    })
  ).key;
  aowKey = (
    await embedAow({
      model: clean,
      out: aowModel,
      keyOut: aowKeyFile,
      data,
      secret: Buffer.alloc(32, 3),
      minSteps: 10,
      lr: 3e-3,
    })
  ).key;
});

after(async () => {
  for (const s of servers) await s.close();
});

const PROBES = 300;

function sameEvidence(endpoint: AuditReport, checkpoint: AuditReport): void {
  assert.equal(endpoint.verdict, checkpoint.verdict);
  assert.equal(endpoint.pValueText, checkpoint.pValueText);
  if (checkpoint.grew) {
    assert.equal(endpoint.grew!.greenHits, checkpoint.grew.greenHits);
    assert.equal(endpoint.grew!.trials, checkpoint.grew.trials);
    assert.equal(endpoint.grew!.z, checkpoint.grew.z);
    // verify writes the figures the views draw, the same through the endpoint.
    assert.ok(checkpoint.grew.figures, 'the GREW report carries its figures');
    assert.deepEqual(endpoint.grew!.figures, checkpoint.grew.figures);
  }
  if (checkpoint.aow && endpoint.aow?.censored === undefined) {
    assert.ok(checkpoint.aow.figures, 'the AOW report carries its figures');
    assert.deepEqual(endpoint.aow!.figures, checkpoint.aow.figures);
  }
}

test('GREW through the endpoint (id map, ids + scores): the checkpoint verdict and evidence', async (t) => {
  const server = await serve({ model: grewModel, idMap: itemMap });
  const common = { key: grewKey, data, probes: PROBES };
  const checkpoint = await verifyWithKey({ ...common, model: grewModel });
  const report = await verifyEndpoint({ ...common, profile: profileFor(server) });
  assert.equal(checkpoint.verdict, 'present');
  sameEvidence(report, checkpoint);
  const e = report.endpoint!;
  assert.deepEqual(e.probes, { wanted: PROBES, answered: PROBES, lost: 0 });
  assert.equal(e.queries.spent, PROBES);
  assert.equal(server.stats.requests, PROBES);
  assert.equal(e.queries.retries, 0);
  assert.equal(e.unknownIds, 0);
  assert.ok(
    e.latencyMs && e.latencyMs.p50 <= e.latencyMs.p90 && e.latencyMs.p90 <= e.latencyMs.p99,
  );
  assert.ok(e.probesPerSecond > 0);
  assert.equal(report.model.sha256, '');
  t.diagnostic(
    `GREW z_w ${report.grew!.z.toFixed(2)} (checkpoint ${checkpoint.grew!.z.toFixed(2)}), ${e.probesPerSecond} probes/s, latency p50/p90/p99 ${e.latencyMs!.p50}/${e.latencyMs!.p90}/${e.latencyMs!.p99} ms`,
  );
});

test('AOW through an ids-only endpoint: the checkpoint verdict; a clean model is absent', async (t) => {
  const marked = await serve({ model: aowModel });
  const cleanServer = await serve({ model: clean });
  const ids = (server: RecServer): EndpointProfile =>
    profileFor(server, { response: { items: '$.items' }, idMap: undefined, numItems: 3650 });
  const checkpoint = await verifyWithKey({ key: aowKey, model: aowModel });
  const report = await verifyEndpoint({ key: aowKey, profile: ids(marked) });
  assert.equal(checkpoint.verdict, 'present');
  assert.deepEqual(report.aow!.ranks, [1, 1, 1, 1]);
  assert.equal(report.aow!.censored, undefined);
  sameEvidence(report, checkpoint);
  assert.equal(report.endpoint!.queries.spent, 4);

  const cleanCheckpoint = await verifyWithKey({ key: aowKey, model: clean });
  const cleanReport = await verifyEndpoint({ key: aowKey, profile: ids(cleanServer) });
  assert.equal(cleanCheckpoint.verdict, 'absent');
  assert.equal(cleanReport.verdict, 'absent');
  // The clean model ranks the targets far below the 100 items the endpoint returns: censored.
  assert.ok(cleanCheckpoint.aow!.ranks.every((r) => r > 100));
  assert.deepEqual(cleanReport.aow!.censored, [true, true, true, true]);
  assert.deepEqual(cleanReport.aow!.ranks, [101, 101, 101, 101]);
  assert.equal(cleanReport.aow!.pFisher, 1);
  assert.match(cleanReport.aow!.combination, /not in the returned list/);
  t.diagnostic(
    `AOW: marked ${report.verdict} p = ${report.pValueText} (checkpoint ${checkpoint.pValueText}); clean ${cleanReport.verdict} (checkpoint ranks ${cleanCheckpoint.aow!.ranks.join(', ')})`,
  );
});

test('AOW with every item scored: exact ranks, as on the checkpoint', async () => {
  const cleanServer = await serve({ model: clean });
  const profile = profileFor(cleanServer, {
    request: { items: '${items}', k: 'all' },
    idMap: undefined,
    numItems: 3650,
  });
  const report = await verifyEndpoint({ key: aowKey, profile });
  const checkpoint = await verifyWithKey({ key: aowKey, model: clean });
  assert.deepEqual(report.aow!.ranks, checkpoint.aow!.ranks);
  assert.equal(report.aow!.censored, undefined);
  sameEvidence(report, checkpoint);
});

test('a clean model with probes sampled from the endpoint itself: absent, as on the checkpoint', async (t) => {
  const server = await serve({ model: clean, idMap: itemMap });
  const common = { key: grewKey, probes: 40, nullKeys: 100 };
  const checkpoint = await verifyWithKey({ ...common, model: clean });
  const rec = recordProgress();
  const report = await verifyEndpoint({
    ...common,
    profile: profileFor(server),
    progress: rec.progress,
  });
  assert.equal(checkpoint.verdict, 'absent');
  // Sampling through the endpoint counts its queries, with what they cost beside the count.
  const sampling = 'Sampling probe sequences from the model';
  assertCounted(rec.counts(sampling, 'queries'), report.endpoint!.requests.total - 40, 'sampling');
  assert.ok(
    rec.updates
      .filter((u) => u.message === sampling && u.count)
      .every((u) => /answered, [\d,]+ requests sent$/.test(u.detail ?? '')),
  );
  // The endpoint returns k + |history| items, so the history can be left out exactly as on the
  // checkpoint: the sampled probes, and so the evidence, are identical.
  sameEvidence(report, checkpoint);
  assert.equal(report.grew!.probeSource, 'sampled');
  assert.ok(report.endpoint!.requests.total > 40, 'sampling asks more than the final probes');
  t.diagnostic(
    `clean: z_w ${report.grew!.z.toFixed(2)}, ${report.endpoint!.requests.total} requests for 40 sampled probes`,
  );
});

test('20% injected faults: the audit completes, retries, and reports the probes lost', async (t) => {
  const server = await serve({
    model: grewModel,
    idMap: itemMap,
    faultRate: 0.2,
    seed: 7,
    delayMs: 1500,
    retryAfter: 0,
  });
  const profile = profileFor(server, {
    timeoutMs: 300,
    retries: { max: 3, baseDelayMs: 20, maxDelayMs: 200 },
  });
  const checkpoint = await verifyWithKey({ key: grewKey, data, probes: PROBES, model: grewModel });
  const report = await verifyEndpoint({ key: grewKey, data, probes: PROBES, profile });
  const e = report.endpoint!;
  assert.equal(report.verdict, checkpoint.verdict);
  assert.equal(e.probes.wanted, PROBES);
  assert.equal(e.probes.answered + e.probes.lost, PROBES);
  assert.equal(report.grew!.probes, e.probes.answered);
  assert.ok(e.probes.lost > 0, 'garbage bodies lose their probes');
  assert.equal(e.lost.malformed, e.failures.malformed);
  assert.equal(e.probes.lost, e.lost.malformed + e.lost.retriesExhausted + e.lost.httpError);
  assert.ok(e.failures.timeout > 0 && e.failures.http['429'] > 0 && e.failures.http['500'] > 0);
  assert.ok(e.queries.retries > 0);
  assert.equal(e.queries.spent, server.stats.requests);
  assert.match(e.note ?? '', /probes were lost, so the verdict is computed on/);
  const faults = Object.values(server.stats.faults).reduce((a, b) => a + b, 0);
  t.diagnostic(
    `faults injected ${faults} of ${server.stats.requests} requests (${JSON.stringify(server.stats.faults)}); ` +
      `retries ${e.queries.retries}; probes lost ${e.probes.lost} of ${PROBES}; z_w ${report.grew!.z.toFixed(2)} vs ${checkpoint.grew!.z.toFixed(2)}; ${report.verdict}`,
  );
});

test('cancel, then resume: cached answers are reused and no request is sent twice', async (t) => {
  const server = await serve({ model: grewModel, idMap: itemMap });
  const cacheDir = path.join(tempDir(), 'cache');
  const profile = profileFor(server, { rateLimit: 400 });
  const controller = new AbortController();
  await assert.rejects(
    verifyEndpoint({
      key: grewKey,
      data,
      probes: PROBES,
      profile,
      cacheDir,
      signal: controller.signal,
      progress: ({ message, fraction }) => {
        if (message.startsWith('Querying') && (fraction ?? 0) >= 0.5 + 0.45 * 0.4)
          controller.abort();
      },
    }),
    CancelledError,
  );
  const first = server.stats.requests;
  assert.ok(first >= 0.4 * PROBES && first < PROBES, `cancelled after ${first} requests`);

  const report = await verifyEndpoint({ key: grewKey, data, probes: PROBES, profile, cacheDir });
  const e = report.endpoint!;
  assert.equal(report.verdict, 'present');
  // Requests in flight at the cancel finished and were cached: nothing is paid for twice.
  assert.equal(e.requests.fromCache, first);
  assert.equal(e.queries.spent, PROBES - first);
  assert.equal(server.stats.requests, PROBES);
  assert.ok(
    [...server.stats.byBody.values()].every((n) => n === 1),
    'a body was sent twice',
  );
  // The cache holds answers, never the secret header or the watermark key.
  const cache = readFileSync(e.cacheFile!, 'utf8');
  assert.equal(cache.trim().split('\n').length, PROBES);
  assert.ok(!cache.includes(Buffer.from(grewKey.secret!).toString('hex')));

  // A third run is free.
  const again = await verifyEndpoint({ key: grewKey, data, probes: PROBES, profile, cacheDir });
  assert.equal(again.endpoint!.queries.spent, 0);
  assert.equal(again.endpoint!.latencyMs, null);
  assert.equal(again.pValueText, report.pValueText);
  t.diagnostic(`cancelled after ${first} requests; the resumed run sent ${e.queries.spent}`);
});

test('the budget runs out: a partial report on the answered probes, with a clear note', async () => {
  const server = await serve({ model: grewModel, idMap: itemMap });
  const rec = recordProgress();
  const report = await verifyEndpoint({
    key: grewKey,
    data,
    probes: PROBES,
    profile: profileFor(server),
    budget: 120,
    progress: rec.progress,
  });
  // The data file's lines are counted as it is read.
  const lines = readFileSync(data, 'utf8').trimEnd().split('\n').length;
  assertCounted(rec.counts(`Reading ${path.basename(data)}`, 'lines'), lines, 'the data file');
  const e = report.endpoint!;
  assert.equal(server.stats.requests, 120);
  assert.equal(e.queries.spent, 120);
  assert.ok(e.budgetExhausted);
  assert.deepEqual(e.probes, { wanted: PROBES, answered: 120, lost: 180 });
  assert.equal(e.lost.budget, 180);
  assert.equal(report.grew!.probes, 120);
  assert.match(e.note!, /query budget \(120 requests\) ran out: 120 of 300 probes were answered/);
  assert.ok(['present', 'inconclusive', 'absent'].includes(report.verdict));
});

test('CLI: verify --endpoint with the sample profile, the token from the environment', async () => {
  const token = 'tok-3f9a1c-never-in-output';
  const server = await serve({ model: grewModel, idMap: itemMap, token });
  // The committed sample profile, pointed at this test's port.
  const sample = JSON.parse(readFileSync(fixture('local.recmark-endpoint.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const work = tempDir();
  const profileFile = path.join(work, 'local.recmark-endpoint.json');
  // An id map must sit next to its profile (issue 15), so it is copied beside this one.
  copyFileSync(itemMap, path.join(work, 'item_map.csv'));
  writeFileSync(
    profileFile,
    JSON.stringify({
      ...sample,
      url: server.url,
      idMap: { ...(sample.idMap as object), file: 'item_map.csv' },
    }),
  );
  const cacheDir = path.join(work, 'cache');
  const args = ['verify', '--endpoint', profileFile, '--key', grewKeyFile, '--data', data];
  const run = ['--probes', '100', '--cache', cacheDir, '--json'];

  delete process.env.RECMARK_SECRET_APITOKEN;
  const missing = await runCli([...args, ...run]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /needs the secret "apiToken".*RECMARK_SECRET_APITOKEN/);

  process.env.RECMARK_SECRET_APITOKEN = 'wrong';
  const refused = await runCli([...args, ...run]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /refused the request \(HTTP 401\)/);

  process.env.RECMARK_SECRET_APITOKEN = token;
  try {
    const ok = await runCli([...args, ...run]);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout) as AuditReport;
    assert.equal(report.verdict, 'present');
    assert.equal(report.endpoint!.probes.answered, 100);
    assert.ok(!ok.stdout.includes(token) && !ok.stderr.includes(token));
    assert.ok(!readFileSync(report.endpoint!.cacheFile!, 'utf8').includes(token));
    const text = await runCli([...args, '--probes', '100', '--cache', cacheDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^PRESENT/);
    assert.match(text.stdout, /queries spent 0 of a budget of 20,000/);
  } finally {
    delete process.env.RECMARK_SECRET_APITOKEN;
  }

  const bad = path.join(work, 'bad.recmark-endpoint.json');
  writeFileSync(
    bad,
    JSON.stringify({ url: server.url, request: { items: '${items}' }, rateLimit: 'fast' }),
  );
  const r = await runCli(['verify', '--endpoint', bad, '--key', grewKeyFile]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  // Progress lines ("… step") may precede it; the error itself is one line naming the field.
  const errors = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('… '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /^recmark: bad\.recmark-endpoint\.json: "response" is required/);
});
