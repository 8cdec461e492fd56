/**
 * Statistics for people: how a p-value, a z-score and a rank read in every report (the CLI, the
 * VS Code log and, through the report's `explanation` and figures, the webview). Pure.
 */
import { formatPValue, type PValue } from '../stats/tests';

/**
 * log10 of the smallest p-value shown as a number. Doubles underflow near 1e-308, and a normal or
 * binomial tail that far out says only "overwhelming": its digits (2.0e-663) carry no meaning.
 */
export const P_SHOWN_FLOOR_LOG10 = -300;

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** "6.3e-21", "0.034", or "< 1e-300" below the floor. */
export function pValueText(p: PValue): string {
  if (p.log10 < P_SHOWN_FLOOR_LOG10) return `< 1e${P_SHOWN_FLOOR_LOG10}`;
  return formatPValue(p);
}

/** "p = 6.3e-21" or "p < 1e-300": a clamped text already carries its relation. */
export function pClause(text: string): string {
  return text.startsWith('<') ? `p ${text}` : `p = ${text}`;
}

/** A probability that is a plain number (an empirical p): "0.005", "0.34", "4.2e-4". */
export function probabilityText(p: number): string {
  if (!Number.isFinite(p)) return '—';
  return p >= 1e-3 ? String(Number(p.toPrecision(2))) : p.toExponential(1);
}

/** α as every report prints it: "1.0e-4". */
export function alphaText(alpha: number): string {
  return formatPValue({ value: alpha, log10: Math.log10(alpha) });
}

/** 1/p for people: "5", "1,250", "1.6e20" (from log10, so no overflow). */
function oneIn(log10p: number): string {
  const log10n = -log10p;
  if (log10n < 6) return count(10 ** log10n);
  const exponent = Math.floor(log10n);
  let mantissa = 10 ** (log10n - exponent);
  let exp = exponent;
  if (mantissa >= 9.95) {
    mantissa = 1;
    exp += 1;
  }
  return `${mantissa.toFixed(1)}e${exp}`;
}

/**
 * The deciding p-value and what it means: "p = 6.3e-21: a model without this watermark would show
 * evidence this strong about once in 1.6e20 audits."
 */
export function pSentence(p: PValue): string {
  const text = pValueText(p);
  const lead = `${pClause(text)}: a model without this watermark would show evidence this strong`;
  if (p.log10 < P_SHOWN_FLOOR_LOG10)
    return `${lead} less than once in 1e${-P_SHOWN_FLOOR_LOG10} audits.`;
  // Below 1 in 1.5 the "once in N" reading is "always".
  if (-p.log10 < Math.log10(1.5)) return `${lead} in almost every audit.`;
  return `${lead} about once in ${oneIn(p.log10)} audits.`;
}

/** Where z lies as it is shown (rounded to `digits`): "above chance", "below chance", "at chance". */
export function chanceSide(z: number, digits = 1): 'above chance' | 'below chance' | 'at chance' {
  const shown = Number(z.toFixed(digits));
  if (shown === 0 || !Number.isFinite(shown)) return 'at chance';
  return shown > 0 ? 'above chance' : 'below chance';
}

/** The words beside a shown z: "std. deviations above chance", or just "at chance" for 0. */
export function zNote(z: number, digits = 1): string {
  const side = chanceSide(z, digits);
  return side === 'at chance' ? side : `std. deviations ${side}`;
}

/** z as shown: "2.30", "−1.20", and "0.00" (never "−0.00"). */
export function zValue(z: number, digits = 1): string {
  const shown = Number(z.toFixed(digits)) === 0 ? (0).toFixed(digits) : z.toFixed(digits);
  return shown.startsWith('-') ? `−${shown.slice(1)}` : shown;
}

/** "z = 2.3 std. deviations above chance", "z = −1.2 std. deviations below chance", "z = 0.0, at chance". */
export function zText(z: number, digits = 1): string {
  if (Number.isNaN(z)) return 'z = —';
  const value = zValue(z, digits);
  const note = zNote(z, digits);
  return note === 'at chance' ? `z = ${value}, at chance` : `z = ${value} ${note}`;
}

/** A share as a percentage with two significant figures, so 1/3650 reads "0.027%", not "0.0%". */
export function shareText(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  if (fraction <= 0) return '0%';
  return `${Number((fraction * 100).toPrecision(2))}%`;
}

/**
 * Where rank r (1 = first) of n sits: "top 0.027%" (r / n of the catalogue ranks at or above it)
 * in the upper half, "bottom 2.3%" ((n − r + 1) / n ranks at or below it) in the lower. A censored
 * rank (only known to be > r − 1, an endpoint's top-m list) reads "below top 5.5%".
 */
export function rankPosition(rank: number, n: number, censored = false): string {
  const items = Math.max(1, n);
  if (censored) return `below top ${shareText((rank - 1) / items)}`;
  return rank <= (items + 1) / 2
    ? `top ${shareText(rank / items)}`
    : `bottom ${shareText((items - rank + 1) / items)}`;
}

/** "rank 3,568 of 3,650 (bottom 2.3%)"; censored: "rank > 200 of 3,650 (below top 5.5%)". */
export function rankText(rank: number, n: number, censored = false): string {
  const r = censored ? `> ${count(rank - 1)}` : count(rank);
  return `rank ${r} of ${count(n)} (${rankPosition(rank, n, censored)})`;
}

/** A share as a percentage with one decimal: 0.1234 → "12.3%". */
export function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
