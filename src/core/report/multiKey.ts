/**
 * Several keys on one model (verify --key A --key B ...): each key is another chance for an
 * unrelated model to look watermarked, so the verdict compares the deciding p with α / m for m
 * keys checked (Bonferroni), and the report says so.
 */
import { withExplanation } from './explain';
import { decideVerdict, verdictSentence, type AuditReport, type KeyCheck } from './report';

/**
 * `best` is the report of the key with the smallest p (its verdict decided at the plain α);
 * `checks` every key checked, `failed` those that could not be. A key that could not be checked
 * tested nothing, so it does not count towards m.
 */
export function correctForKeys(
  best: AuditReport,
  checks: readonly KeyCheck[],
  failed: readonly KeyCheck[] = [],
): AuditReport {
  const keys = checks.length;
  if (keys <= 1) return withExplanation({ ...best, keyChecks: [...checks, ...failed] });
  const alpha = best.alpha / keys;
  const corrected = checks.map((c) => ({
    ...c,
    verdict: decideVerdict({ value: 10 ** c.log10PValue, log10: c.log10PValue }, alpha),
  }));
  const report: AuditReport = {
    ...best,
    keyChecks: [...corrected, ...failed],
    correction: { keys, alpha },
  };
  // No evidence stays no verdict; otherwise the deciding p meets α / m.
  if (best.noEvidence === undefined) {
    const p = { value: best.pValue, log10: best.log10PValue };
    const verdict = decideVerdict(p, alpha);
    // The sentence may carry a note after the verdict's own words (rows left out): keep it.
    const before = verdictSentence(best.verdict, best.scheme, p, best.alpha);
    const note = best.sentence.startsWith(before) ? best.sentence.slice(before.length) : '';
    report.verdict = verdict;
    report.sentence = verdictSentence(verdict, best.scheme, p, alpha) + note;
  }
  return withExplanation(report);
}
