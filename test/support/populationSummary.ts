/**
 * The distribution of a population audit (test/support/population.ts) against what H0 predicts:
 * for GREW z_w ~ N(0, 1) and 1 − Φ(z_w) uniform; for AOW each target's rank uniform on 1..N, so
 * r/N and Fisher's p uniform. Plain functions over AuditRow[], printed as Markdown tables.
 */
import { normalSf } from '../../src/core/stats/tests';
import type { AuditRow } from './population';

export const P_THRESHOLDS = [0.05, 1e-2, 1e-3, 1e-4] as const;
export const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;

/** Linear-interpolated quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Φ⁻¹(q) by Acklam's rational approximation (relative error < 1.2e-9). */
export function normalQuantile(q: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile level must be in (0, 1), got ${q}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269];
  const a4 = -30.66479806614716;
  const a5 = 2.506628277459239;
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972];
  const b4 = -13.28068155288572;
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734];
  const c4 = 4.374664141464968;
  const c5 = 2.938163982698783;
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (r: number): number =>
    (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c4) * r + c5) /
    ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1);
  if (q < 0.02425) return tail(Math.sqrt(-2 * Math.log(q)));
  if (q > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - q)));
  const x = q - 0.5;
  const r = x * x;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a4) * r + a5) * x) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b4) * r + 1)
  );
}

/** Kolmogorov–Smirnov distance of a sample from a continuous CDF. */
export function ksDistance(values: readonly number[], cdf: (x: number) => number): number {
  const sorted = [...values].sort((x, y) => x - y);
  const n = sorted.length;
  let d = 0;
  sorted.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  });
  return d;
}

export interface Moments {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  /** [level, observed, expected under H0]. */
  quantiles: [number, number, number][];
}

function moments(values: readonly number[], expected: (q: number) => number): Moments {
  const sorted = [...values].sort((x, y) => x - y);
  const n = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, n - 1));
  return {
    n,
    mean,
    sd,
    min: sorted[0],
    max: sorted[n - 1],
    quantiles: QUANTILES.map((q) => [q, quantile(sorted, q), expected(q)]),
  };
}

export interface PShares {
  min: number;
  /** [threshold, count below it, expected count if uniform]. */
  below: [number, number, number][];
  /** KS distance from the uniform distribution. */
  ks: number;
}

function pShares(values: readonly number[]): PShares {
  return {
    min: Math.min(...values),
    below: P_THRESHOLDS.map((t) => [t, values.filter((p) => p < t).length, t * values.length]),
    ks: ksDistance(values, (x) => Math.min(1, Math.max(0, x))),
  };
}

export interface GroupSummary {
  label: string;
  scheme: 'grew' | 'aow';
  audits: number;
  models: number;
  keys: number;
  present: number;
  inconclusive: number;
  /** The rows called PRESENT (should be none on clean models). */
  presentRows: AuditRow[];
  /** GREW: z_w, z_null, and p_w = 1 − Φ(z_w). */
  z?: Moments;
  zNull?: Moments;
  zKs?: number;
  pW?: PShares;
  /** GREW: how much of z_w belongs to the key rather than the model (keys are shared). */
  keyEffect?: KeyEffect;
  /** GREW: the classic z, and how many audits it would have called PRESENT at α. */
  zClassic?: Moments;
  classicBelowAlpha?: number;
  /** The verdict's p-value. */
  p: PShares;
  /** AOW: r/N over every step of every audit, and Fisher's p. */
  rankFraction?: Moments;
  pFisher?: PShares;
}

const standardNormalCdf = (x: number): number => 1 - normalSf(x).value;

/**
 * Every model is audited with the same keys, and a key that happens to make the popular items
 * green raises z_w on every model that recommends them. One-way random effects by key: the
 * between-key and within-key variance of z_w, the intraclass correlation, and the number of
 * independent audits the correlated ones are worth, n / (1 + (m − 1)·ICC) (Kish's design effect).
 */
export interface KeyEffect {
  keys: number;
  modelsPerKey: number;
  /** Standard deviation of a key's mean z_w over the models (1/√m if models were independent). */
  keyMeanSd: number;
  within: number;
  between: number;
  icc: number;
  effectiveAudits: number;
}

export function keyEffect(rows: readonly AuditRow[]): KeyEffect {
  const byKey = new Map<string, number[]>();
  for (const r of rows) byKey.set(r.keyId, [...(byKey.get(r.keyId) ?? []), r.z!]);
  const groups = [...byKey.values()];
  const m = Math.min(...groups.map((g) => g.length));
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const variance = (v: readonly number[]) => {
    const mu = mean(v);
    return v.reduce((s, x) => s + (x - mu) ** 2, 0) / Math.max(1, v.length - 1);
  };
  const keyMeans = groups.map(mean);
  const within = mean(groups.map(variance));
  const between = Math.max(0, variance(keyMeans) - within / m);
  const icc = between + within > 0 ? between / (between + within) : 0;
  return {
    keys: groups.length,
    modelsPerKey: m,
    keyMeanSd: Math.sqrt(variance(keyMeans)),
    within,
    between,
    icc,
    effectiveAudits: rows.length / (1 + (m - 1) * icc),
  };
}

export function summariseGroup(
  label: string,
  rows: readonly AuditRow[],
  alpha: number,
): GroupSummary {
  const scheme = rows[0].scheme;
  const base = {
    label,
    scheme,
    audits: rows.length,
    models: new Set(rows.map((r) => r.model)).size,
    keys: new Set(rows.map((r) => r.keyId)).size,
    present: rows.filter((r) => r.verdict === 'present').length,
    inconclusive: rows.filter((r) => r.verdict === 'inconclusive').length,
    presentRows: rows.filter((r) => r.verdict === 'present'),
    p: pShares(rows.map((r) => r.p)),
  };
  if (scheme === 'grew') {
    const z = rows.map((r) => r.z!);
    return {
      ...base,
      z: moments(z, normalQuantile),
      zNull: moments(
        rows.map((r) => r.zNull!),
        normalQuantile,
      ),
      zKs: ksDistance(z, standardNormalCdf),
      pW: pShares(rows.map((r) => r.pW!)),
      keyEffect: keyEffect(rows),
      zClassic: moments(
        rows.map((r) => r.zClassic!),
        normalQuantile,
      ),
      classicBelowAlpha: rows.filter((r) => normalSf(r.zClassic!).value < alpha).length,
    };
  }
  const fractions = rows.flatMap((r) => r.ranks!.map((rank) => rank / r.numItems!));
  return {
    ...base,
    rankFraction: moments(fractions, (q) => q),
    pFisher: pShares(rows.map((r) => r.pFisher!)),
  };
}

/** Per scheme and probe source: GREW on data probes, GREW on sampled probes, AOW. */
export function summarise(rows: readonly AuditRow[], alpha: number): GroupSummary[] {
  const groups: GroupSummary[] = [];
  const grewData = rows.filter((r) => r.scheme === 'grew' && r.source === 'data');
  const grewSampled = rows.filter((r) => r.scheme === 'grew' && r.source === 'sampled');
  const aow = rows.filter((r) => r.scheme === 'aow');
  if (grewData.length) groups.push(summariseGroup('GREW, data probes', grewData, alpha));
  if (grewSampled.length) groups.push(summariseGroup('GREW, sampled probes', grewSampled, alpha));
  if (aow.length) groups.push(summariseGroup('AOW', aow, alpha));
  return groups;
}

// ---------- printing ----------

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const fmtP = (p: number): string =>
  p === 0 ? '0' : p >= 0.01 ? p.toFixed(3) : p.toExponential(1).replace('e-', 'e−');
const pct = (q: number): string => `${Math.round(q * 100)}%`;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The headline table: audits, false PRESENT, and the p-value shares against uniform. */
export function formatOverview(groups: readonly GroupSummary[]): string {
  return table(
    [
      'scheme',
      'models × keys',
      'audits',
      'PRESENT',
      'INCONCL.',
      'min p',
      ...P_THRESHOLDS.map((t) => `p < ${fmtP(t)} (H0)`),
    ],
    groups.map((g) => [
      g.label,
      `${g.models} × ${g.keys}`,
      String(g.audits),
      String(g.present),
      String(g.inconclusive),
      fmtP(g.p.min),
      ...g.p.below.map(([, n, e]) => `${n} (${fmt(e, e < 1 ? 2 : 1)})`),
    ]),
  );
}

/** Quantiles of z_w and z_null (GREW) or r/N (AOW) against H0's. */
export function formatQuantiles(groups: readonly GroupSummary[]): string {
  const rows: string[][] = [];
  for (const g of groups) {
    const add = (name: string, m: Moments, digits: number) =>
      rows.push([
        `${g.label}: ${name}`,
        `${fmt(m.mean, digits)} / ${fmt(m.sd, digits)}`,
        fmt(m.min, digits),
        ...m.quantiles.map(([, v, e]) => `${fmt(v, digits)} (${fmt(e, digits)})`),
        fmt(m.max, digits),
      ]);
    if (g.z) add('z_w', g.z, 2);
    if (g.zNull) add('z_null', g.zNull, 2);
    if (g.zClassic) add('classic z', g.zClassic, 2);
    if (g.rankFraction) add('rank / N', g.rankFraction, 3);
  }
  return table(
    ['statistic', 'mean / sd', 'min', ...QUANTILES.map((q) => `q${pct(q)}`), 'max'],
    rows,
  );
}

/** One line per model: its utility and what the keys found in it. */
export function formatPerModel(
  rows: readonly AuditRow[],
  models: readonly { name: string; origin: string; ndcg: number }[],
): string {
  return table(
    [
      'model',
      'origin',
      'NDCG@10',
      'GREW z_w data: mean / sd / max',
      'GREW z_w sampled: mean / sd / max',
      'GREW min p',
      'AOW min p',
      'AOW median r/N',
      'PRESENT',
    ],
    models.map((m) => {
      const mine = rows.filter((r) => r.model === m.name);
      const zs = (source: string) => {
        const z = mine.filter((r) => r.scheme === 'grew' && r.source === source).map((r) => r.z!);
        if (z.length === 0) return '—';
        const mean = z.reduce((s, v) => s + v, 0) / z.length;
        const sd = Math.sqrt(
          z.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, z.length - 1),
        );
        return `${fmt(mean)} / ${fmt(sd)} / ${fmt(Math.max(...z))}`;
      };
      const grew = mine.filter((r) => r.scheme === 'grew');
      const aow = mine.filter((r) => r.scheme === 'aow');
      const fractions = aow
        .flatMap((r) => r.ranks!.map((rank) => rank / r.numItems!))
        .sort((x, y) => x - y);
      return [
        m.name,
        m.origin,
        m.ndcg.toFixed(4),
        zs('data'),
        zs('sampled'),
        grew.length ? fmtP(Math.min(...grew.map((r) => r.p))) : '—',
        aow.length ? fmtP(Math.min(...aow.map((r) => r.p))) : '—',
        fractions.length ? fmt(quantile(fractions, 0.5), 3) : '—',
        String(mine.filter((r) => r.verdict === 'present').length),
      ];
    }),
  );
}

/** Every PRESENT row, for a report that must not hide one. */
export function formatPresent(rows: readonly AuditRow[]): string {
  const present = rows.filter((r) => r.verdict === 'present');
  if (present.length === 0) return 'No audit of a clean model said PRESENT.';
  return present
    .map(
      (r) =>
        `PRESENT: model ${r.model}, ${r.scheme} key ${r.keyId} (owner ${r.owner}, ${r.source}): ` +
        (r.scheme === 'grew'
          ? `z_w ${fmt(r.z!)}, z_null ${fmt(r.zNull!)}, p ${fmtP(r.p)}`
          : `ranks ${r.ranks!.join(', ')}, p ${fmtP(r.p)}`),
    )
    .join('\n');
}

/** Kolmogorov–Smirnov critical value at 1% for n independent draws (asymptotic). */
export const ksCritical01 = (n: number): number => 1.63 / Math.sqrt(n);

/** The lines under the tables: p_w, the key effect, KS against H0, the classic z, Fisher's p. */
export function formatDetails(groups: readonly GroupSummary[], alpha: number): string {
  const shares = (s: PShares) =>
    `min ${fmtP(s.min)}; ` +
    s.below.map(([t, n, e]) => `p < ${fmtP(t)}: ${n} (${fmt(e, e < 1 ? 2 : 1)})`).join(', ');
  const lines: string[] = [];
  for (const g of groups) {
    if (g.scheme === 'grew') {
      const k = g.keyEffect!;
      lines.push(
        `- ${g.label}: p_w = 1 − Φ(z_w) ${shares(g.pW!)}.`,
        `  Key effect: a key's mean z_w over the ${k.modelsPerKey} models has sd ${fmt(k.keyMeanSd)} ` +
          `(${fmt(1 / Math.sqrt(k.modelsPerKey))} if the models' z_w were independent); ICC ${fmt(k.icc)}, so the ` +
          `${g.audits} audits weigh as ~${Math.round(k.effectiveAudits)} independent ones.`,
        `  KS distance of z_w from N(0, 1): ${fmt(g.zKs!, 3)} (1% critical value ${fmt(ksCritical01(k.effectiveAudits), 3)} ` +
          `for ${Math.round(k.effectiveAudits)} independent draws, ${fmt(ksCritical01(g.audits), 3)} for ${g.audits}).`,
        `  The classic z (hits as independent trials) has sd ${fmt(g.zClassic!.sd)} and would have said ` +
          `PRESENT (p < ${alpha}) in ${g.classicBelowAlpha} of ${g.audits} audits.`,
      );
    } else {
      const median = g.rankFraction!.quantiles.find(([q]) => q === 0.5)![1];
      lines.push(
        `- ${g.label}: Fisher's p ${shares(g.pFisher!)}; the targets' median rank / N is ${fmt(median, 3)} ` +
          '(0.5 if ranks were uniform): sequences made of one model’s lowest-scored items rank low in other models too.',
      );
    }
  }
  return lines.join('\n');
}
