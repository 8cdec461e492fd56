/**
 * The audit report: one JSON object that the CLI prints, the panel and the inline view render,
 * and the HTML export embeds. It never holds a secret: keys appear by key id only.
 */
import type { HistogramBin } from '../stats/histogram';
import type { PValue } from '../stats/tests';
import type { ModelCard } from './modelCard';
import { alphaText, pClause, pValueText } from './plain';

export type Verdict = 'present' | 'absent' | 'inconclusive';
export type Scheme = 'grew' | 'aow';

/** Between α and this p-value the evidence is suggestive but not conclusive. */
export const INCONCLUSIVE_BELOW = 0.01;
export const DEFAULT_ALPHA = 1e-4;

/** A p-value that is not a number means there was nothing to test: never absent, never present. */
export function decideVerdict(p: PValue, alpha: number): Verdict {
  if (Number.isNaN(p.value) || Number.isNaN(p.log10)) return 'inconclusive';
  if (p.value < alpha || p.log10 < Math.log10(alpha)) return 'present';
  if (p.value < INCONCLUSIVE_BELOW) return 'inconclusive';
  return 'absent';
}

/** One sentence a non-statistician can repeat. */
export function verdictSentence(
  verdict: Verdict,
  scheme: Scheme,
  p: PValue,
  alpha: number,
): string {
  const evidence =
    scheme === 'grew' ? 'this much green-item bias' : 'this much of the watermark sequence';
  // The p-value's own sentence (plain.ts pSentence) gives the number; this one says what it decides.
  if (verdict === 'present') {
    return `A model without this watermark would almost never show ${evidence}: the watermark is there.`;
  }
  if (verdict === 'inconclusive') {
    return `The model shows some ${scheme === 'grew' ? 'green-item bias' : 'watermark recall'} (${pClause(pValueText(p))}), but not enough to decide at α = ${alphaText(alpha)}; audit with more probes.`;
  }
  return `The model shows no more ${scheme === 'grew' ? 'green-item bias' : 'watermark recall'} than an unrelated model would (${pClause(pValueText(p))}).`;
}

/** The model-card fields a report carries (the card also has adapter sources and operators). */
const REPORT_MODEL_FIELDS = [
  'fileName',
  'sha256',
  'bytes',
  'numItems',
  'parameters',
  'opset',
  'input',
  'output',
  'outputRank',
  'padding',
  'maskId',
] as const;

export type ReportModel = Pick<ModelCard, (typeof REPORT_MODEL_FIELDS)[number]>;

export function reportModel(card: ModelCard): ReportModel {
  return Object.fromEntries(REPORT_MODEL_FIELDS.map((k) => [k, card[k]])) as ReportModel;
}

export interface GrewEvidence {
  z: number;
  zNull: number;
  zClassic: number;
  pEmpirical: number;
  pClassic: number;
  /** The classic p formatted from its log10, so overwhelming evidence never reads 0. */
  pClassicText: string;
  greenHits: number;
  trials: number;
  expectedHits: number;
  sdHits: number;
  gamma: number;
  topK: number;
  probes: number;
  nullKeys: number;
  distinctItems: number;
  probeSource: 'data' | 'sampled';
  perProbeGreen: number[];
  nullPerProbeGreen: number[];
  greenRateByRank: number[];
  nullGreenHits: number[];
  /** What the charts and tables show (report/figures.ts); absent from older saved reports. */
  figures?: GrewFigures;
}

/**
 * The numbers the GREW charts and tables show, derived in core from the evidence (so the panel
 * and the HTML export draw the same ones, and the view computes nothing). Reports saved before
 * RecMark recorded them lack them: the views then say a chart is not available.
 */
export interface GrewFigures {
  /** The verdict's z: the more conservative of z and zNull, and which of the two it is. */
  zDecision: number;
  decidedBy: 'z' | 'zNull';
  /** The words beside zDecision at one decimal: "std. deviations above chance", "at chance". */
  zDecisionNote?: string;
  /** G / T, and E[G] / T under no watermark (T counted as at least 1). */
  greenRate: number;
  expectedGreenRate: number;
  /** Null keys whose G reached the suspect's (G_null ≥ G). */
  nullKeysReached: number;
  /** Green items per top-k list: the share of probes with 0..k green, and the mean per probe. */
  greenPerProbe: {
    suspect: number[];
    /** The first null keys' lists, pooled; null when no null key ran. */
    nullKeys: number[] | null;
    /** Binomial(k, γ): what a model without the watermark shows. */
    binomial: number[];
    suspectMean: number;
    /** The suspect's mean as a share of k. */
    suspectMeanShare: number;
    nullKeysMean: number | null;
    /** k·γ. */
    expectedMean: number;
  };
  /** Rank positions whose green rate is above γ. */
  ranksAboveGamma: number;
  /** The null keys' G in about two dozen equal-width bins, with their mean and range. */
  nullHits: {
    bins: HistogramBin[];
    mean: number;
    /** Smallest and largest G; null when no null key ran. */
    range: [number, number] | null;
    /**
     * The normal approximation N(E[G], sd²) of G under H0, scaled to the bins' counts: 81 points
     * over ±4 sd and the bins. Empty when sd = 0.
     */
    normalCurve: { x: number; y: number }[];
  };
}

/** AOW extraction (DESIGN.md §3): the suspect continues prefixes of the watermark sequence. */
export interface AowEvidence {
  /** Watermark length L; there are L − 1 queries (prefix w1..wi → target w(i+1)). */
  length: number;
  /** Real items the ranks are taken among (pad and mask excluded). */
  numItems: number;
  /** Rank (1 = first) of each target among the real items; ties count against the watermark. */
  ranks: number[];
  /**
   * Endpoint audits only: true where the target was not in the returned top-m list, so its rank
   * is only known to be at least `ranks[i]` (= m + 1). Absent when every rank is exact.
   */
  censored?: boolean[];
  /** The cut-offs K, in order; the records below are keyed by them. */
  ks: number[];
  recall: Record<string, number>;
  ndcg: Record<string, number>;
  /** Recall a model that ranks the targets at random would show: K / numItems. */
  chance: Record<string, number>;
  /** P(Binomial(L − 1, K/N) ≥ hits at K). */
  pBinomial: Record<string, number>;
  pBinomialText: Record<string, string>;
  /** Fisher's X = −2 Σ ln(r_i / N) ~ χ²(2(L − 1)) under H0. */
  fisherStatistic: number;
  pFisher: number;
  pFisherText: string;
  /** How the verdict's p-value combines the tests above. */
  combination: string;
  /** What the charts and tables show (report/figures.ts); absent from older saved reports. */
  figures?: AowFigures;
}

/** The numbers the AOW charts and tables show, derived in core (see GrewFigures). */
export interface AowFigures {
  /** Queries asked of the suspect: one per prefix, L − 1. */
  steps: number;
  /** Targets ranked within the top K, keyed by K. */
  hits: Record<string, number>;
  /** The smallest rank of any target; null when there is none. */
  bestRank: number | null;
  /** Where a random ranking puts a target on average: (N + 1) / 2. */
  randomMedianRank: number;
  /**
   * Each target's rank as a share of the catalogue, r / N ("top 0.027%"); for a censored step
   * (r − 1) / N, the share it is known to lie below.
   */
  rankShares: number[];
  /** Per step, for people: "top 0.027%", "bottom 2.3%", "below top 5.5%" (plain.ts). */
  rankPositions?: string[];
  /** Per step: is the target's rank (as recorded) 1, and at most 10. */
  rankedFirst: boolean[];
  rankedTop10: boolean[];
  /** Degrees of freedom of Fisher's χ² under no watermark: 2 (L − 1). */
  fisherDegreesOfFreedom: number;
}

/** One simulated attack of a robustness sweep and the verification of its result. */
export interface RobustnessRow {
  attack:
    | 'extraction'
    | 'finetune'
    | 'prune'
    | 'noise'
    | 'quantize'
    | 'strip'
    | 'overwrite'
    | 'extract-finetune';
  /** What was done, for people: "Fine-tune on 5% of users". */
  label: string;
  /** The attack's size: "3,000 sequences · 300,000 queries", "1 epoch, 31 users". */
  setting: string;
  /**
   * What a reader must know to read this row right, shown with the setting: e.g. that stripping
   * removed a GREW serve-mode head and the watermark with it.
   */
  note?: string;
  verdict: Verdict;
  pValue: number;
  log10PValue: number;
  pValueText: string;
  /** The scheme's headline number: AOW Recall@10 of the watermark steps, GREW z_w (absent on error). */
  metric?: { name: string; value: number };
  /** Top-10 overlap of the attacked model with the watermarked one (how much the thief kept). */
  fidelity?: number;
  /** NDCG@10 of the attacked model on the data (leave-one-out), when data was given. */
  ndcg?: number;
  /**
   * Set when the attack could not run (e.g. fine-tuning without data); the verdict fields then
   * hold placeholders ('absent', p = 1, text '—') that views must not show.
   */
  error?: string;
  ms: number;
}

export interface RobustnessSection {
  /** NDCG@10 of the watermarked model itself, for comparison with each row's. */
  ndcg?: number;
  rows: RobustnessRow[];
  /** What the chart and the summary show (report/figures.ts); absent from older saved reports. */
  figures?: RobustnessFigures;
}

/** The numbers the robustness chart, summary and table show, derived in core (see GrewFigures). */
export interface RobustnessFigures {
  /** Attacks that ran, those whose attacked copy still reads PRESENT, and those that could not run. */
  ran: number;
  survived: number;
  notRun: number;
  /** −log10 α: where the α line sits on the evidence axis. */
  alphaEvidence: number;
  /** Per row: the evidence −log10 p (at least 0); null for a row that did not run. */
  evidence: (number | null)[];
  /** Per row: NDCG@10 relative to the watermarked model's, ndcg / reference − 1; null without both. */
  ndcgChange: (number | null)[];
}

/** One key of a multi-key check; the report's own evidence is for the first row. */
export interface KeyCheck {
  keyId: string;
  scheme: Scheme;
  verdict: Verdict;
  pValueText: string;
  log10PValue: number;
  /** Why this key could not be checked on this model (e.g. another catalogue), if it failed. */
  error?: string;
}

export interface UtilityRow {
  metric: string;
  before: number;
  after: number;
  /** The relative change after/before − 1; absent when `before` is 0 (no change to speak of). */
  change?: number;
  /** 95% interval of the relative change, when the metric has one. */
  ci95?: [number, number];
  /** 95% intervals of the metric itself, before and after (absent from older saved reports). */
  beforeCi95?: [number, number];
  afterCi95?: [number, number];
  /**
   * The users it was measured on, of those in the data who have a held-out item: a seeded
   * sample of at most UTILITY_USERS_DEFAULT (core/utility.ts) unless all were asked for.
   * Absent without data and in older saved reports.
   */
  users?: UtilityUsersCount;
}

/** "5,000 of 31,013 users": how many users a utility row rests on. */
export interface UtilityUsersCount {
  used: number;
  of: number;
}

/** A before/after row with its relative change: the one place the change is computed. */
export function utilityRow(
  metric: string,
  before: number,
  after: number,
  ci95?: [number, number],
  more: {
    beforeCi95?: [number, number];
    afterCi95?: [number, number];
    users?: UtilityUsersCount;
  } = {},
): UtilityRow {
  return {
    metric,
    before,
    after,
    ...(before > 0 ? { change: after / before - 1 } : {}),
    ...(ci95 ? { ci95 } : {}),
    ...(more.beforeCi95 ? { beforeCi95: more.beforeCi95 } : {}),
    ...(more.afterCi95 ? { afterCi95: more.afterCi95 } : {}),
    ...(more.users ? { users: { used: more.users.used, of: more.users.of } } : {}),
  };
}

/**
 * Endpoint audits (`verify --endpoint`): what verification cost and how the service behaved. The
 * statistics above are computed on the answered probes only; `probes.lost` says how many were not.
 */
export interface EndpointSection {
  /** The profile's name and file name; the URL as written in the profile (placeholders, no secrets). */
  name: string;
  profile: string;
  url: string;
  method: string;
  /** What the service returns: "ranked ids", "scores" or "ranked ids with scores". */
  answers: string;
  /** Probes the statistics needed (GREW top-k lists, AOW prefixes): asked, answered, lost. */
  probes: { wanted: number; answered: number; lost: number };
  /** Requests this audit needed in all (GREW probe sampling asks more than the probes). */
  requests: { total: number; fromCache: number; answered: number; lost: number };
  /** HTTP requests sent (retries included), against the budget (null = no limit). */
  queries: { spent: number; budget: number | null; retries: number };
  /** Failed attempts by kind; `http` by status code. Lost requests by why. */
  failures: { timeout: number; network: number; malformed: number; http: Record<string, number> };
  lost: { retriesExhausted: number; malformed: number; httpError: number; budget: number };
  /** Latency of requests that got a response, in ms (null when none was sent). */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  /** Requests answered over the network per second of querying. */
  probesPerSecond: number;
  seconds: number;
  /** Ids in responses that are not catalogue items (or not in the id map); they were skipped. */
  unknownIds: number;
  budgetExhausted: boolean;
  /** Where cached answers live (re-runs reuse them), or null when caching was off. */
  cacheFile: string | null;
  /** A sentence for people when the audit is partial (budget spent, probes lost). */
  note?: string;
}

export interface AuditReport {
  kind: 'recmark-audit';
  version: 1;
  createdAt: string;
  scheme: Scheme;
  verdict: Verdict;
  /** The verdict's p-value (may underflow to 0; `log10PValue` and `pValueText` do not). */
  pValue: number;
  log10PValue: number;
  pValueText: string;
  alpha: number;
  sentence: string;
  /** Why there is no verdict (inconclusive): nothing could be tested, e.g. zero trials or NaN scores. */
  noEvidence?: string;
  model: ReportModel;
  keyId: string;
  parameters: Record<string, string | number | boolean>;
  timings: { step: string; ms: number }[];
  grew?: GrewEvidence;
  aow?: AowEvidence;
  utility?: UtilityRow[];
  /** Present when a robustness sweep ran: one row per simulated attack. */
  robustness?: RobustnessSection;
  /** Present when several keys were checked: every key, strongest evidence first. */
  keyChecks?: KeyCheck[];
  /** Present when the suspect was a live endpoint rather than a checkpoint. */
  endpoint?: EndpointSection;
  /**
   * Present when several keys were checked: the verdict compares the deciding p with α / keys
   * (Bonferroni), so trying more keys cannot make an unrelated model look watermarked.
   */
  correction?: KeyCorrection;
  /** The deciding p and the supporting statistics for people (report/explain.ts); absent from older saved reports. */
  explanation?: ReportExplanation;
}

export interface KeyCorrection {
  /** Keys checked on this model (a key that could not be checked tests nothing). */
  keys: number;
  /** α / keys: what each key's p-value is compared with. */
  alpha: number;
}

/** What the report's statistics mean, in words the CLI prints and the webview draws as they are. */
export interface ReportExplanation {
  /**
   * "p = 6.3e-21: a model without this watermark would show evidence this strong about once in
   * 1.6e20 audits."; empty when there was nothing to test (the verdict's sentence says why).
   */
  pSentence: string;
  /** Which statistic the deciding p comes from (and any correction for several keys). */
  decidedBy: string;
  /** α as compared: "1.0e-4", or "5.0e-5 (1.0e-4 corrected for 2 keys tried)". */
  alphaText: string;
  /** The supporting statistics, each with what it means. */
  details: ReportDetail[];
}

export interface ReportDetail {
  label: string;
  value: string;
  /** One line: what the number says, and whether it decides. */
  meaning: string;
  /** True for the statistic the deciding p-value comes from. */
  decides?: boolean;
}

/**
 * The report's verdict fields. `noEvidence` says why there is nothing to test (zero trials, every
 * score NaN): the verdict is then inconclusive with that reason, whatever `p` is, and p reads 1.
 */
export function reportVerdict(scheme: Scheme, p: PValue, alpha: number, noEvidence?: string) {
  if (noEvidence !== undefined || Number.isNaN(p.value) || Number.isNaN(p.log10)) {
    const why = noEvidence ?? 'there was nothing to test';
    return {
      verdict: 'inconclusive' as Verdict,
      pValue: 1,
      log10PValue: 0,
      pValueText: '—',
      alpha,
      sentence: `No verdict: ${why}.`,
      noEvidence: why,
    };
  }
  const verdict = decideVerdict(p, alpha);
  return {
    verdict,
    pValue: p.value,
    log10PValue: p.log10,
    pValueText: pValueText(p),
    alpha,
    sentence: verdictSentence(verdict, scheme, p, alpha),
  };
}
