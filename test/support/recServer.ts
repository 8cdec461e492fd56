/**
 * A real recommendation service for endpoint audits: serves an ONNX checkpoint over HTTP on
 * loopback, the way a thief would put a stolen model behind an API. Concurrent requests are
 * scored together (micro-batching). Optional id mapping (the service speaks e.g. MovieLens
 * movieIds), bearer-token auth, and seeded fault injection (delays, 429s, 500s, garbage bodies).
 *
 *   POST /recommend  {"items": [ids, oldest first], "k": 20}
 *     → {"items": [ids, best first], "scores": [their scores]}   (k = "all": every item)
 *
 * By hand:
 *   node --import tsx test/support/recServer.ts --model test/fixtures/sasrec_opset17.onnx \
 *     --port 8080 [--id-map test/fixtures/item_map.csv] [--token T] [--fault-rate 0.2] [--seed 1]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { ScoringSession } from '../../src/core/onnx/session';
import { topK } from '../../src/core/onnx/topk';
import { inspectModel } from '../../src/core/report/modelCard';
import { Rng } from '../../src/core/util/random';

export type FaultKind = 'delay' | '429' | '500' | 'garbage';

export interface RecServerOptions {
  model: string;
  port?: number;
  /** CSV `index,movieId`: the service speaks the second column. */
  idMap?: string;
  /** Required bearer token, if any. */
  token?: string;
  /** Share of requests that get a fault (0..1), drawn with a seeded RNG. */
  faultRate?: number;
  faultKinds?: FaultKind[];
  seed?: number;
  /** How long a "delay" fault stalls before answering (longer than the client's timeout). */
  delayMs?: number;
  /** Retry-After header on 429s, in seconds. */
  retryAfter?: number;
  /** Largest k served (a real API caps its lists). */
  maxK?: number;
}

export interface RecServer {
  url: string;
  port: number;
  /** Requests received, and how often each distinct body (sha256) was received. */
  stats: { requests: number; byBody: Map<string, number>; faults: Record<FaultKind, number> };
  close(): Promise<void>;
}

interface Pending {
  items: number[];
  k: number | 'all';
  resolve(answer: { items: (number | string)[]; scores: number[] }): void;
  reject(err: unknown): void;
}

export async function startRecServer(options: RecServerOptions): Promise<RecServer> {
  const { adapter } = await inspectModel(options.model);
  const session = await ScoringSession.open(options.model, adapter);
  const toService = new Map<number, number>();
  const toModel = new Map<number, number>();
  if (options.idMap) {
    for (const line of readFileSync(options.idMap, 'utf8').trim().split('\n').slice(1)) {
      const [m, s] = line.split(',').map(Number);
      toService.set(m, s);
      toModel.set(s, m);
    }
  }
  const rng = new Rng(options.seed ?? 1);
  const kinds = options.faultKinds ?? ['delay', '429', '500', 'garbage'];
  const stats: RecServer['stats'] = {
    requests: 0,
    byBody: new Map(),
    faults: { delay: 0, '429': 0, '500': 0, garbage: 0 },
  };
  const maxK = options.maxK ?? Infinity;

  // Micro-batching: requests that arrive together are scored in one onnxruntime run.
  let queue: Pending[] = [];
  let scheduled = false;
  const flush = async (): Promise<void> => {
    scheduled = false;
    const batch = queue;
    queue = [];
    try {
      await session.forEachScores(
        batch.map((p) => p.items),
        (i, scores) => {
          const p = batch[i];
          const k = p.k === 'all' ? adapter.itemIds.length : p.k;
          const ids = topK(scores, adapter.itemIds, Math.min(k, maxK));
          p.resolve({
            items: Array.from(ids, (id) => (options.idMap ? toService.get(id)! : id)),
            scores: Array.from(ids, (id) => scores[id]),
          });
        },
      );
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  };

  const send = (res: ServerResponse, status: number, body: string, headers = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    stats.requests++;
    const hash = createHash('sha256').update(body).digest('hex');
    stats.byBody.set(hash, (stats.byBody.get(hash) ?? 0) + 1);
    if (req.method !== 'POST' || req.url !== '/recommend')
      return send(res, 404, '{"error":"POST /recommend"}');
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`)
      return send(res, 401, '{"error":"unauthorized"}');
    if (options.faultRate && rng.next() < options.faultRate) {
      const kind = kinds[rng.int(kinds.length)];
      stats.faults[kind]++;
      if (kind === '429')
        return send(res, 429, '{"error":"slow down"}', {
          'Retry-After': String(options.retryAfter ?? 0),
        });
      if (kind === '500') return send(res, 500, '{"error":"internal"}');
      if (kind === 'garbage') return send(res, 200, '<html>502 Bad Gateway</html>{"items":[');
      await new Promise((r) => setTimeout(r, options.delayMs ?? 2000));
      if (res.destroyed) return;
    }
    let parsed: { items?: unknown; k?: unknown };
    try {
      parsed = JSON.parse(body) as { items?: unknown; k?: unknown };
    } catch {
      return send(res, 400, '{"error":"body is not JSON"}');
    }
    const raw = parsed.items;
    const k = parsed.k === 'all' ? 'all' : Number(parsed.k ?? 20);
    if (!Array.isArray(raw) || raw.length === 0 || (k !== 'all' && !(Number.isInteger(k) && k > 0)))
      return send(res, 400, '{"error":"want {items: [...], k}"}');
    const items: number[] = [];
    for (const id of raw) {
      const model = options.idMap ? toModel.get(Number(id)) : Number(id);
      if (model === undefined || !Number.isInteger(model) || !adapter.itemIds.includes(model))
        return send(res, 400, JSON.stringify({ error: `unknown item ${String(id)}` }));
      items.push(model);
    }
    const answer = await new Promise<{ items: (number | string)[]; scores: number[] }>(
      (resolve, reject) => {
        queue.push({ items, k, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      },
    );
    send(res, 200, JSON.stringify(answer));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: String(err) }));
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/recommend`,
    port,
    stats,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await session.release();
    },
  };
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      port: { type: 'string', default: '8080' },
      'id-map': { type: 'string' },
      token: { type: 'string' },
      'fault-rate': { type: 'string' },
      seed: { type: 'string' },
      'max-k': { type: 'string' },
    },
  });
  if (!values.model) {
    process.stderr.write(
      'usage: recServer.ts --model MODEL.onnx [--port 8080] [--id-map CSV] [--token T] [--fault-rate 0.2] [--seed 1] [--max-k N]\n',
    );
    process.exit(2);
  }
  void startRecServer({
    model: values.model,
    port: Number(values.port),
    idMap: values['id-map'],
    token: values.token,
    faultRate: values['fault-rate'] ? Number(values['fault-rate']) : undefined,
    seed: values.seed ? Number(values.seed) : undefined,
    maxK: values['max-k'] ? Number(values['max-k']) : undefined,
  }).then((s) => process.stdout.write(`RecMark test server on ${s.url}\n`));
}
