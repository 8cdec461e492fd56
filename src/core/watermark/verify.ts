/**
 * Verification by key: the scheme comes from the key, so callers (CLI, VS Code) need not know
 * it. Several keys on one model give one report: the strongest evidence, with every key listed.
 */
import { CancelledError, RecMarkError } from '../errors';
import { correctForKeys } from '../report/multiKey';
import type { AuditReport, KeyCheck } from '../report/report';
import { verifyAow } from './aowAudit';
import { verifyGrew, type VerifyGrewOptions } from './grewAudit';
import type { WatermarkKey } from './key';

/** GREW's verification options (data, probes, top-k and null keys matter to GREW only), any key. */
export type VerifyOptions = Omit<VerifyGrewOptions, 'key'> & { key: WatermarkKey };

export async function verifyWithKey(options: VerifyOptions): Promise<AuditReport> {
  const { key } = options;
  return key.scheme === 'aow' ? verifyAow({ ...options, key }) : verifyGrew({ ...options, key });
}

/**
 * Check every key; the report is that of the key with the smallest p-value, its verdict corrected
 * for the number of keys checked (report/multiKey.ts), and `keyChecks` lists them all. A key that
 * does not fit the model (another catalogue) is listed with its error; only if no key fits does
 * the first error propagate.
 */
export async function verifyWithKeys(
  options: Omit<VerifyOptions, 'key'> & { keys: readonly WatermarkKey[] },
): Promise<AuditReport> {
  const { keys, progress } = options;
  if (keys.length === 0) throw new RecMarkError('No key to verify with.', 'usage');
  const reports: AuditReport[] = [];
  const failed: KeyCheck[] = [];
  let firstError: unknown = null;
  for (const [i, key] of keys.entries()) {
    const prefix = keys.length > 1 ? `Key ${i + 1}/${keys.length}: ` : '';
    try {
      reports.push(
        await verifyWithKey({
          ...options,
          key,
          progress: progress && ((u) => progress({ ...u, message: prefix + u.message })),
        }),
      );
    } catch (err) {
      if (err instanceof CancelledError || !(err instanceof RecMarkError) || keys.length === 1)
        throw err;
      firstError ??= err;
      failed.push({
        keyId: key.keyId,
        scheme: key.scheme,
        // Not checked is no evidence: never reported as absent.
        verdict: 'inconclusive',
        pValueText: '—',
        log10PValue: 0,
        error: err.message,
      });
    }
  }
  if (reports.length === 0) throw firstError;
  reports.sort((a, b) => a.log10PValue - b.log10PValue);
  if (keys.length === 1) return reports[0];
  const checks: KeyCheck[] = reports.map((r) => ({
    keyId: r.keyId,
    scheme: r.scheme,
    verdict: r.verdict,
    pValueText: r.pValueText,
    log10PValue: r.log10PValue,
  }));
  return correctForKeys(reports[0], checks, failed);
}
