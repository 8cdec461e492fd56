/**
 * The threat model (issue 14): scheme × mode × attack on the fixtures, from one command.
 *
 *   npm run threat-model                      # every fixture, every case (hours on 2 cores)
 *   npm run threat-model -- --fixtures sasrec_opset17.onnx --cases grew-weights,grew-serve,aow
 *   npm run threat-model -- --json out.json   # also every row as JSON
 *
 * Each case embeds the fixture with a fixed owner secret and the MovieLens data (GREW in the
 * weights, GREW as a served head, AOW with its defaults), then runs the robustness sweep with the
 * attacks a thief holding the file would use and verifies the owner's key after each: int8
 * quantization, fine-tuning 10% of users for one epoch, pruning 50%, noise 0.1, data-free
 * extraction (3,000 sequences), extraction then fine-tuning, stripping post-processing, and
 * overwriting with the thief's own GREW or AOW watermark (fresh random keys, so those two rows
 * vary a little between runs). Prints one markdown table per fixture: verdict, p-value, the
 * scheme's headline number (GREW z_w, AOW Recall@10), the attacked model's top-10 overlap with
 * the watermarked one and its leave-one-out NDCG@10.
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { robustnessSweep, type PlannedAttack } from '../../src/core/attack/robustness';
import type { AuditReport, RobustnessRow } from '../../src/core/report/report';
import { embedAow } from '../../src/core/watermark/aow';
import { embedGrew } from '../../src/core/watermark/grew';
import type { WatermarkKey } from '../../src/core/watermark/key';
import { fixture, MAIN_FIXTURES, tempDir } from '../support/helpers';
import { movielensInteractionFile } from '../support/movielens';

const CASES = ['grew-weights', 'grew-serve', 'aow'] as const;
type Case = (typeof CASES)[number];
const CASE_LABEL: Record<Case, string> = {
  'grew-weights': 'GREW, in the weights',
  'grew-serve': 'GREW, served head',
  aow: 'AOW',
};

export const THREAT_PLAN: readonly PlannedAttack[] = [
  { attack: 'quantize' },
  { attack: 'finetune', fraction: 0.1 },
  { attack: 'prune', fraction: 0.5 },
  { attack: 'noise', scale: 0.1 },
  { attack: 'extraction', sequences: 3000 },
  { attack: 'extract-finetune', sequences: 3000, fraction: 0.1 },
  { attack: 'strip' },
  { attack: 'overwrite', scheme: 'grew' },
  { attack: 'overwrite', scheme: 'aow' },
];

const SECRET = Buffer.alloc(32, 0x5a);
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function watermark(
  name: string,
  c: Case,
  data: string,
): Promise<{ model: string; key: WatermarkKey; embedSeconds: number }> {
  const model = path.join(tempDir(), `${path.basename(name, '.onnx')}.${c}.onnx`);
  const started = performance.now();
  const common = { model: fixture(name), out: model, data, secret: SECRET, seed: 1 };
  const key =
    c === 'aow'
      ? (await embedAow(common)).key
      : (await embedGrew({ ...common, mode: c === 'grew-weights' ? 'weights' : 'serve' })).key;
  return { model, key, embedSeconds: (performance.now() - started) / 1000 };
}

interface CaseResult {
  fixture: string;
  case: Case;
  embedSeconds: number;
  sweepSeconds: number;
  base: Pick<AuditReport, 'verdict' | 'pValueText'> & { metric: string; ndcg?: number };
  rows: RobustnessRow[];
}

const headline = (r: { metric?: { name: string; value: number } }): string =>
  r.metric ? `${r.metric.name} ${r.metric.value.toFixed(r.metric.name === 'z_w' ? 1 : 2)}` : '';

function cell(r: RobustnessRow | undefined): string {
  if (!r) return '—';
  // The error's first sentence (a full stop followed by a space: z_w = 3.6 stays whole).
  if (r.error) return `not run: ${r.error.split(/\.\s/)[0]}`;
  const fid = r.fidelity === undefined ? '' : `, top-10 ${Math.round(r.fidelity * 100)}%`;
  const ndcg = r.ndcg === undefined ? '' : `, NDCG ${r.ndcg.toFixed(4)}`;
  return `**${r.verdict.toUpperCase()}** p ${r.pValueText} (${headline(r)}${fid}${ndcg})`;
}

function markdown(fixtureName: string, results: CaseResult[]): string {
  const head = `| attack | ${results.map((r) => CASE_LABEL[r.case]).join(' | ')} |`;
  const rule = `| --- | ${results.map(() => '---').join(' | ')} |`;
  const base = `| none (the watermarked model) | ${results
    .map(
      (r) =>
        `**${r.base.verdict.toUpperCase()}** p ${r.base.pValueText} (${r.base.metric}${r.base.ndcg === undefined ? '' : `, NDCG ${r.base.ndcg.toFixed(4)}`})`,
    )
    .join(' | ')} |`;
  const labels = [...new Set(results.flatMap((r) => r.rows.map((row) => row.label)))];
  const lines = labels.map(
    (label) =>
      `| ${label} | ${results.map((r) => cell(r.rows.find((row) => row.label === label))).join(' | ')} |`,
  );
  return [`### ${fixtureName}`, '', head, rule, base, ...lines].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fixtures: { type: 'string' },
      cases: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const fixtures = values.fixtures?.split(',') ?? MAIN_FIXTURES;
  const cases = (values.cases?.split(',') ?? [...CASES]) as Case[];
  for (const c of cases)
    if (!CASES.includes(c)) throw new Error(`unknown case ${c} (${CASES.join(', ')})`);
  const data = movielensInteractionFile();
  const all: CaseResult[] = [];
  console.log(
    `# Threat model: ${fixtures.length} fixture(s) × ${cases.join(', ')}; ${os.cpus().length} cores, load ${load()}`,
  );
  for (const name of fixtures) {
    const results: CaseResult[] = [];
    for (const c of cases) {
      const { model, key, embedSeconds } = await watermark(name, c, data);
      const started = performance.now();
      const report = await robustnessSweep({ model, key, data, plan: THREAT_PLAN });
      const result: CaseResult = {
        fixture: name,
        case: c,
        embedSeconds,
        sweepSeconds: (performance.now() - started) / 1000,
        base: {
          verdict: report.verdict,
          pValueText: report.pValueText,
          metric: report.grew
            ? `z_w ${report.grew.z.toFixed(1)}`
            : `Recall@10 ${report.aow!.recall['10'].toFixed(2)}`,
          ndcg: report.robustness!.ndcg,
        },
        rows: report.robustness!.rows,
      };
      results.push(result);
      all.push(result);
      console.log(
        `  ${name} ${CASE_LABEL[c]}: embed ${embedSeconds.toFixed(0)} s, sweep ${(result.sweepSeconds / 60).toFixed(1)} min, load ${load()}`,
      );
      if (values.json) writeFileSync(values.json, `${JSON.stringify(all, null, 2)}\n`);
    }
    console.log(`\n${markdown(name, results)}\n`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
