/**
 * The small JSONPath subset an endpoint profile uses to find item ids and scores in a response:
 * `$`, `.name`, `['name']` / `["name"]`, `[3]` and `[*]` (every element of an array, or every
 * value of an object). `$.items`, `$.data.recommendations[*].id`, `$['item-ids']`.
 */

export type PathStep =
  { kind: 'key'; name: string } | { kind: 'index'; index: number } | { kind: 'all' };

/** Parse a path; returns an error message (naming what is wrong) instead of throwing. */
export function parseJsonPath(path: string): PathStep[] | string {
  if (!path.startsWith('$')) return `must start with "$" (e.g. "$.items"), got "${path}"`;
  const steps: PathStep[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      const m = /^[A-Za-z_$][\w$-]*/.exec(path.slice(i + 1));
      if (!m) return `expected a field name after "." at position ${i + 1} of "${path}"`;
      steps.push({ kind: 'key', name: m[0] });
      i += 1 + m[0].length;
    } else if (c === '[') {
      const rest = path.slice(i);
      const m =
        /^\[\*\]/.exec(rest) ??
        /^\[(\d+)\]/.exec(rest) ??
        /^\['([^']*)'\]/.exec(rest) ??
        /^\["([^"]*)"\]/.exec(rest);
      if (!m) return `cannot read "${rest}" in "${path}" (use [0], [*] or ['name'])`;
      if (m[0] === '[*]') steps.push({ kind: 'all' });
      else if (/^\[\d+\]$/.test(m[0])) steps.push({ kind: 'index', index: Number(m[1]) });
      else steps.push({ kind: 'key', name: m[1] });
      i += m[0].length;
    } else {
      return `unexpected "${c}" at position ${i} of "${path}"`;
    }
  }
  return steps;
}

/**
 * Evaluate a parsed path. Without `[*]` the result is the one value found (or undefined); with
 * `[*]` it is the array of every value reached.
 */
export function evaluateJsonPath(value: unknown, steps: readonly PathStep[]): unknown {
  let current: unknown[] = [value];
  let spread = false;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'all') {
        spread = true;
        // A loop, not push(...v): spreading a list of ~10^5 values overflows the call stack.
        const values: unknown[] = Array.isArray(v)
          ? v
          : v !== null && typeof v === 'object'
            ? Object.values(v)
            : [];
        for (const x of values) next.push(x);
      } else if (step.kind === 'index') {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        if (Object.prototype.hasOwnProperty.call(v, step.name))
          next.push((v as Record<string, unknown>)[step.name]);
      }
    }
    current = next;
  }
  return spread ? current : current[0];
}
