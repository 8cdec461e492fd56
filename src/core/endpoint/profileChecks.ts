/** The checks parseProfile builds on: one failure format, placeholders, positive numbers. */
import { RecMarkError } from '../errors';

export const PLACEHOLDER_RE = /\$\{([^}]*)\}/g;

export function fail(label: string, field: string, message: string): never {
  throw new RecMarkError(`${label}: "${field}" ${message}`, 'endpoint-profile');
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every placeholder in a string must be one this field allows. */
export function checkPlaceholders(
  label: string,
  field: string,
  text: string,
  allowed: string[],
): void {
  for (const m of text.matchAll(PLACEHOLDER_RE)) {
    const name = m[1];
    if (name.startsWith('secret:')) {
      if (!allowed.includes('secret'))
        fail(
          label,
          field,
          `may not use ${m[0]}: secrets go in "headers" only, so they never reach the URL, the cache or a report.`,
        );
      if (!/^secret:[A-Za-z][A-Za-z0-9_]*$/.test(name))
        fail(
          label,
          field,
          `has a bad secret reference ${m[0]}; write \${secret:NAME} with NAME made of letters, digits and _.`,
        );
    } else if (!allowed.includes(name)) {
      fail(
        label,
        field,
        `uses unknown placeholder ${m[0]}; allowed here: ${allowed
          .filter((a) => a !== 'secret')
          .map((a) => `\${${a}}`)
          .join(', ')}${allowed.includes('secret') ? ', ${secret:NAME}' : ''}.`,
      );
    }
  }
}

export function positive(
  label: string,
  field: string,
  v: unknown,
  fallback: number,
  integer: boolean,
  hint: string,
  range: { min?: number; max?: number } = {},
): number {
  if (v === undefined) return fallback;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    v <= 0 ||
    (integer && !Number.isSafeInteger(v))
  )
    fail(
      label,
      field,
      `must be a positive ${integer ? 'integer' : 'number'} (${hint}), got ${JSON.stringify(v)}.`,
    );
  const { min = 0, max = Infinity } = range;
  if (v < min || v > max)
    fail(
      label,
      field,
      `must be ${max === Infinity ? `at least ${min}` : min === 0 ? `at most ${max}` : `from ${min} to ${max}`} (${hint}), got ${v}.`,
    );
  return v;
}

export function walkStrings(
  value: unknown,
  visit: (s: string, where: string) => void,
  where = '',
): void {
  if (typeof value === 'string') visit(value, where);
  else if (Array.isArray(value)) value.forEach((x, i) => walkStrings(x, visit, `${where}[${i}]`));
  else if (isObject(value))
    for (const [k, x] of Object.entries(value)) walkStrings(x, visit, `${where}.${k}`);
}
