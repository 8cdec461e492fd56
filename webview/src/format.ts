/** Presentation formatting for the report view: numbers in, short strings out. */

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

export function num(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return n > 0 ? '∞' : n < 0 ? '−∞' : '—';
  return minus(n.toFixed(digits));
}

export function signed(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return num(n, digits);
  return n > 0 ? `+${n.toFixed(digits)}` : minus(n.toFixed(digits));
}

export function percent(fraction: number, digits = 1): string {
  return `${num(fraction * 100, digits)}%`;
}

/**
 * A share that may be tiny (a chance level such as 1/3650): two significant figures, so
 * 0.000274 reads "0.027%" rather than rounding to "0.0%".
 */
export function percentSmall(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  if (fraction === 0) return '0%';
  const pct = fraction * 100;
  if (Math.abs(pct) < 1e-3) return `${probability(pct)}%`;
  return `${minus(String(Number(pct.toPrecision(2))))}%`;
}

/** A probability: plain decimals down to 0.001, scientific notation below. */
export function probability(p: number): string {
  if (!Number.isFinite(p)) return '—';
  if (p === 0) return '0';
  if (p >= 1e-3) return String(Number(p.toPrecision(2)));
  const [mantissa, exponent] = p.toExponential(1).split('e');
  return `${mantissa.replace(/\.0$/, '')}e${exponent.replace('+', '')}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** A timestamp in the reader's locale; the ISO form stays available to machines. */
export function dateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A typographic minus: "−1.20" reads better than "-1.20" in tables. */
function minus(text: string): string {
  if (/^-0(\.0*)?$/.test(text)) return text.slice(1);
  return text.startsWith('-') ? `−${text.slice(1)}` : text;
}

/** "p = 0.034", or "p < 1e-300" for a p-value core clamped (its text carries the relation). */
export function pClause(text: string): string {
  return text.startsWith('<') ? `p ${text}` : `p = ${text}`;
}
