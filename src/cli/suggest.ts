/** "Did you mean": the accepted word closest to a mistyped one, when it is close enough. */

/** Edit distance with adjacent transpositions (optimal string alignment): "porbes" is 1 from "probes". */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word` (the first on a tie), or undefined when even that one is more
 * edits away than a typo makes (1 for words up to 3 letters, 2 up to 8, else 3): a guess that far
 * off would mislead.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 3 ? 1 : word.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean "prune"?` for a message, or nothing when no candidate is close. */
export function didYouMean(word: string, candidates: readonly string[], quote = '"'): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : `; did you mean ${quote}${match}${quote}?`;
}
