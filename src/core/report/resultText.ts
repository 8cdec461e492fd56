/**
 * What an embedding or an attack simulation did, as plain text lines: what the CLI prints and the
 * extension can log. Pure, like ./text (the audit report's lines); the caller escapes them.
 */
import type { CopyAttackResult } from '../attack/copyAttack';
import type { ExtractResult } from '../attack/extraction';
import type { FinetuneResult } from '../attack/finetune';
import type { OverwriteResult } from '../attack/overwrite';
import type { PerturbResult } from '../attack/perturb';
import type { StripResult } from '../attack/strip';
import type { EmbedAowResult } from '../watermark/aow';
import type { EmbedGrewResult } from '../watermark/grew';
import { parameterLabel } from './labels';
import { pClause, percent, zValue } from './plain';
import { fmt, utilityLines } from './text';
import { utilityRow } from './report';

/** The weight attacks that perturb a copy: prune (a fraction), noise (a scale), quantize. */
export type PerturbKind = 'prune' | 'noise' | 'quantize';

export function aowEmbedLines(r: EmbedAowResult): string[] {
  return [
    `Watermarked model: ${r.out}`,
    `Key file:          ${r.keyOut} (key id ${r.key.keyId}; keep it private)`,
    `AOW:               ${r.key.L} items (start ${r.key.start}, each from the ${r.key.M} lowest-scored), ranks in the original ${r.ranksBefore.join(', ')} of ${r.card.numItems}`,
    `Training:          ${r.training.steps} steps (${r.training.loss === 'kl' ? 'distillation' : 'cross-entropy on the data'}), ${r.training.watermarkExamples.toLocaleString('en-US')} of ${r.training.examples.toLocaleString('en-US')} examples are watermark prefixes`,
    `Evidence:          ranks ${r.evidence.ranks.join(', ')} → ${r.evidence.verdict}, ${pClause(r.evidence.pValueText)}`,
    ...aowGuardLines(r.guard),
    ...utilityLines(r.utility),
  ];
}

/** The utility guard's line: said only when there was data to measure NDCG@10 on. */
function aowGuardLines(guard: EmbedAowResult['guard']): string[] {
  if (guard.ndcgDrop === null) return [];
  const change =
    guard.ndcgDrop > 0 ? `fell ${percent(guard.ndcgDrop)}` : `rose ${percent(-guard.ndcgDrop)}`;
  return [
    `Utility guard:     NDCG@10 ${change} (at most ${percent(guard.maxNdcgDrop)} allowed)` +
      (guard.distilled
        ? '; training on the data cost more, so this copy was distilled from the original'
        : '') +
      (guard.halvedShare === null
        ? ''
        : `, with the watermark's share of the examples halved to ${guard.halvedShare}`),
  ];
}

export function grewEmbedLines(result: EmbedGrewResult): string[] {
  return [
    `Watermarked model: ${result.out}`,
    `Key file:          ${result.keyOut} (key id ${result.key.keyId}; keep it private)`,
    `GREW:              ${(['gamma', 'delta', 'kc', 'protectHead'] as const).map((k) => `${parameterLabel(k)} ${result.key[k]}`).join(' · ')} · ${result.numClusters} clusters over ${result.key.numItems} items`,
    result.training
      ? `In the weights:    ${result.training.steps} training steps; the graph is the original's, only weight values changed`
      : 'Served head:       appended after the score output; anyone holding the file can remove it (use it only for a model you serve yourself)',
    `Evidence:          z_w = ${zValue(result.evidence.z, 2)}, ${pClause(result.evidence.pValueText)} on ${result.evidence.probes} ${result.evidence.probeSource} probes, top-${result.evidence.topK} (raise δ for more, lower it for less change)`,
    ...utilityLines(result.utility),
  ];
}

/** The top-10 overlap of an attacked copy with the original, and what it was measured on. */
export function overlapLine(r: CopyAttackResult): string {
  const on = r.probes.source === 'data' ? 'data histories' : 'sampled from the model';
  return `Top-10 overlap:   ${fmt(r.topKOverlap)} with the original on ${r.probes.count} probes (${on})`;
}

/** The loss curve is shown at about ten steps, always including the last. */
export function finetuneLines(r: FinetuneResult): string[] {
  const every = Math.max(1, Math.ceil(r.curve.length / 10));
  return [
    `Fine-tuned model: ${r.out}`,
    `Fine-tuned on:    ${r.users.finetuned} of ${r.users.total} users (${r.examples.toLocaleString('en-US')} examples), ${r.steps} steps, ${r.stepsPerSecond.toFixed(2)} steps/s`,
    `Loss by epoch:    ${r.epochs.map((e) => `${e.epoch}: ${fmt(e.loss)}`).join(', ')}`,
    `Loss by step:     ${r.curve
      .filter((_c, i) => i % every === 0 || i === r.curve.length - 1)
      .map((c) => `${c.step}: ${c.loss.toFixed(3)}`)
      .join(', ')}`,
    `Training loss:    ${fmt(r.trainLoss.before)} → ${fmt(r.trainLoss.after)} (on ${r.trainLoss.examples} examples)`,
    ...trainingGraphLines(r.trainingGraph),
    ...utilityLines(r.utility),
  ];
}

/** For a [batch, T, N] export: whether training ran on the last position only, or why not. */
function trainingGraphLines(g: FinetuneResult['trainingGraph'] | undefined): string[] {
  if (!g || g.mode === 'last-position') return [];
  const how = g.mode === 'rewritten' ? 'last position only' : 'every position';
  return [`Training graph:   ${how}${g.note ? ` (${g.note})` : ''}`];
}

/** `amount` is prune's fraction or noise's scale (quantize takes none). */
export function perturbLines(
  kind: PerturbKind,
  amount: number | undefined,
  r: PerturbResult,
): string[] {
  const share = percent(r.changed / Math.max(1, r.parameters));
  const weights = `${r.parameters.toLocaleString('en-US')} weights`;
  return [
    `${{ prune: 'Pruned model:    ', noise: 'Noisy model:     ', quantize: 'Quantized model: ' }[kind]} ${r.out}`,
    kind === 'prune'
      ? `Pruned:           ${r.changed.toLocaleString('en-US')} of ${weights} (${share}) set to 0, smallest |w| of each of ${r.tensors} matrices`
      : kind === 'noise'
        ? `Noise:            N(0, (${amount}·std(W))²) on ${r.tensors} tensors (${weights}, ${share} changed), seed ${r.seed}`
        : `Quantized:        ${r.tensors} tensors (${weights}) to int8, symmetric per tensor, stored as float32; ${share} changed, max |error| ${r.maxAbsChange.toPrecision(3)}`,
    overlapLine(r),
    ...utilityLines(r.utility),
  ];
}

export function stripLines(r: StripResult): string[] {
  const ops = Object.entries(r.removed.opTypes)
    .map(([op, n]) => (n > 1 ? `${op} ×${n}` : op))
    .join(', ');
  return [
    `Stripped model:   ${r.out}`,
    r.removed.nodes > 0
      ? `Removed:          ${r.removed.nodes} nodes (${ops}) and ${r.removed.initializers} initializers after "${r.cutAt}"`
      : 'Removed:          nothing',
    `Note:             ${r.note}`,
    overlapLine(r),
    ...utilityLines(r.utility),
  ];
}

/** The thief's own evidence, the damage, and the owner's verdict when their key was given. */
export function overwriteLines(r: OverwriteResult): string[] {
  const lines = [
    `Overwritten model: ${r.out}`,
    `Thief's ${r.scheme.toUpperCase()}:      key id ${r.thief.keyId} (the key was not kept), their own audit: ${r.thief.summary}, ${pClause(r.thief.pValueText)}`,
    `Top-10 overlap:    ${fmt(r.topKOverlap)} with the input`,
    ...utilityLines(r.utility.filter((u) => !u.metric.startsWith('Top-10 overlap'))),
  ];
  if (r.owner)
    lines.push(
      `Owner's watermark: ${r.owner.verdict.toUpperCase()} (${r.owner.scheme.toUpperCase()}, key ${r.owner.keyId}, ${pClause(r.owner.pValueText)})`,
    );
  return lines;
}

/** Query budget, training, fidelity to the victim and, with data, both models' utility. */
export function extractionLines(r: ExtractResult): string[] {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const q = r.queries;
  const t = r.training;
  const f = r.fidelity;
  const lines = [
    `Surrogate model:  ${r.out} (${r.arch === 'same' ? "the victim's graph, re-initialised" : 'a SASRec built in code'}, ${n(t.parameters)} weights)`,
    `Queries:          ${n(q.training)} for training (${n(q.sequences)} synthetic sequences × ${q.length} prefixes, top-${q.topK}) + ${n(q.heldOut)} held out = ${n(q.total)} in ${q.seconds.toFixed(1)} s (${n(q.perSecond)} queries/s)`,
    `Training:         ${t.epochs} epochs, ${n(t.steps)} steps on ${n(t.examples)} examples (${r.loss}, ${t.positions === 'all' ? 'every position' : 'last position'}) in ${t.seconds.toFixed(1)} s (${t.stepsPerSecond.toFixed(2)} steps/s); loss ${t.firstLoss.toFixed(3)} → ${t.lastLoss.toFixed(3)}`,
    `Fidelity:         top-10 overlap ${percent(f.top10Overlap)} with the victim on ${n(f.prefixes)} held-out prefixes (chance ${percent(f.chanceTop10)}); top-20 ${percent(f.top20Overlap)}; same top-1 ${percent(f.top1Agreement)}`,
  ];
  if (r.utility) {
    const u = r.utility;
    lines.push(
      `On ${u.users < u.of ? `${n(u.users)} of ${n(u.of)}` : n(u.users)} users:     top-10 overlap ${percent(u.top10Overlap)}; victim → surrogate:`,
      ...utilityLines([
        utilityRow('Recall@10 (leave-one-out)', u.victim.recall, u.surrogate.recall),
        utilityRow('NDCG@10 (leave-one-out)', u.victim.ndcg, u.surrogate.ndcg),
      ]),
    );
  }
  return lines;
}
