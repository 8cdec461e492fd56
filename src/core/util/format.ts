/** Human-readable sizes for messages and the model card. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** 1234567 → "1,234,567" (the same in every locale). */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
