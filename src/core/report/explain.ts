/**
 * The report's statistics for people: the one deciding p-value with a plain sentence, what it
 * comes from, and each supporting statistic with one line saying what it means. Computed from the
 * report alone, so a saved report explains itself the same way; the webview draws the result.
 */
import { alphaText, pClause, probabilityText, pSentence, rankText, zText, zValue } from './plain';
import type {
  AowEvidence,
  AuditReport,
  GrewEvidence,
  ReportDetail,
  ReportExplanation,
} from './report';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export function explainReport(r: AuditReport): ReportExplanation {
  const p = { value: r.pValue, log10: r.log10PValue };
  const c = r.correction;
  const perKey = c
    ? ` With ${c.keys} keys tried, it is compared with α / ${c.keys} (Bonferroni).`
    : '';
  return {
    pSentence: r.noEvidence !== undefined ? '' : pSentence(p),
    decidedBy: r.noEvidence !== undefined ? '' : decidedBy(r) + perKey,
    alphaText: c
      ? `${alphaText(c.alpha)} (${alphaText(r.alpha)} corrected for ${c.keys} keys tried)`
      : alphaText(r.alpha),
    // Nothing tested, nothing to detail (a zero-trial z is not a statistic).
    details:
      r.noEvidence !== undefined
        ? []
        : r.grew
          ? grewDetails(r.grew)
          : r.aow
            ? aowDetails(r.aow)
            : [],
  };
}

/** The report with its explanation, recomputed (after a correction changes the verdict, say). */
export function withExplanation(r: AuditReport): AuditReport {
  return { ...r, explanation: explainReport(r) };
}

function decidedBy(r: AuditReport): string {
  const g = r.grew;
  if (g) {
    const z = Math.min(g.z, g.zNull);
    const which = g.zNull < g.z ? 'z_null' : 'z_w';
    return `The deciding p is the normal tail beyond ${which} = ${zValue(z, 2)}, the more conservative of z_w and z_null.`;
  }
  const a = r.aow;
  if (a) {
    const tests = a.ks.length + 1;
    const ks = a.ks.length > 0 ? `binomial at K = ${a.ks.join(', ')} and ` : '';
    return tests > 1
      ? `The deciding p is the smallest of ${tests} p-values (${ks}Fisher's), multiplied by ${tests} (Bonferroni).`
      : "The deciding p is Fisher's combined p.";
  }
  return 'The deciding p is the scheme’s test on this model.';
}

function grewDetails(g: GrewEvidence): ReportDetail[] {
  const decider = g.zNull < g.z ? 'zNull' : 'z';
  const reached = g.nullGreenHits.filter((x) => x >= g.greenHits).length;
  const floor = 1 / (g.nullKeys + 1);
  const empirical: ReportDetail =
    g.nullKeys === 0
      ? {
          label: 'Empirical p (null keys)',
          value: '—',
          meaning: 'No null keys were run (--null-keys 0), so there is no empirical p.',
        }
      : {
          label: 'Empirical p (null keys)',
          value: `${probabilityText(g.pEmpirical)} (${reached} of ${count(g.nullKeys)} null keys reached G)`,
          meaning:
            reached === 0
              ? `No random key did as well; with ${count(g.nullKeys)} null keys it cannot go below 1/${count(g.nullKeys + 1)} = ${probabilityText(floor)}, so it says only p ≤ ${probabilityText(floor)} and supports the deciding p.`
              : 'The share of random keys (and the suspect’s) that reached G: a check that needs no normal approximation; it does not decide.',
        };
  return [
    {
      label: 'z_w (popularity-aware)',
      value: zText(g.z, 2),
      meaning: `Green hits against what this model’s own item popularity predicts without the watermark.`,
      ...(decider === 'z' ? { decides: true } : {}),
    },
    {
      label: 'z_null (null keys)',
      value: g.nullKeys > 0 ? zText(g.zNull, 2) : '—',
      meaning: `Green hits against ${count(g.nullKeys)} random keys on the same clusters.`,
      ...(decider === 'zNull' ? { decides: true } : {}),
    },
    empirical,
    {
      label: 'Classic z (KGW)',
      value: `${zText(g.zClassic, 2)}, ${pClause(g.pClassicText)}`,
      meaning:
        'Counts every top-k slot as an independent trial; popular items repeat across probes, so it overstates the evidence and never decides.',
    },
    {
      label: 'Green hits G',
      value: `${count(g.greenHits)} of ${count(g.trials)} top-${g.topK} slots (expected ${count(g.expectedHits)} ± ${count(g.sdHits)})`,
      meaning: `Slots holding a green item; a model without the watermark fills about γ = ${g.gamma} of them.`,
    },
  ];
}

function aowDetails(a: AowEvidence): ReportDetail[] {
  const steps = Math.max(0, a.length - 1);
  const perK = a.ks.map((k): ReportDetail => {
    const hits = a.ranks.filter((r) => r <= k).length;
    return {
      label: `Binomial p at K = ${k}`,
      value: `${hits} of ${steps} steps in the top ${k}, ${pClause(a.pBinomialText[k] ?? '—')}`,
      meaning: `The chance that a model ranking the targets at random puts this many within its top ${k}.`,
    };
  });
  const median = count((Math.max(1, a.numItems) + 1) / 2);
  return [
    ...perK,
    {
      label: 'Fisher’s combined p',
      value: `X = ${a.fisherStatistic.toFixed(1)}, ${pClause(a.pFisherText)}`,
      meaning:
        'Every step’s rank combined: small when the targets rank high overall, even if none ranks first.',
    },
    ...a.ranks.map((r, i): ReportDetail => ({
      label: `Step ${i + 1}`,
      value: rankText(r, a.numItems, a.censored?.[i] ?? false),
      meaning: `Where the suspect puts watermark item ${i + 2} after the first ${i + 1 === 1 ? 'item' : `${i + 1} items`}; a random ranking averages rank ${median}.`,
    })),
  ];
}
