/**
 * Reports on disk: `<workspace>/.recmark/reports/<model>-<time>.json`. The inline model view
 * shows the newest report whose model hash matches the file being viewed.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/files';
import type { AuditReport } from './report';

export const REPORTS_DIR = path.join('.recmark', 'reports');

function stem(report: AuditReport): string {
  const base = report.model.fileName
    .replace(/\.onnx$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 80);
  const time = report.createdAt.replace(/[:.]/g, '-');
  return `${base}-${report.scheme}-${time}`;
}

/** Save a report as JSON; returns the file path. */
export async function saveReport(root: string, report: AuditReport): Promise<string> {
  const dir = path.join(root, REPORTS_DIR);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${stem(report)}.json`);
  // RecMark's own history: the same report saved again replaces its earlier copy.
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`, { replace: true });
  return file;
}

/**
 * The name an export proposes in `dir`: `<model>-<scheme>-<time>-export.<ext>`, numbered past
 * any file already there, so it never names a saved report (those live in REPORTS_DIR without
 * "-export") nor an earlier export.
 */
export async function freeExportName(
  dir: string,
  report: AuditReport,
  ext: 'json' | 'html',
): Promise<string> {
  const base = `${stem(report)}-export`;
  const nameFor = (n: number): string => (n === 1 ? `${base}.${ext}` : `${base}-${n}.${ext}`);
  // Bounded: a folder that cannot be read answers "taken" for every name.
  for (let n = 1; n <= 1000; n++) {
    const taken = await fs.lstat(path.join(dir, nameFor(n))).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
    );
    if (!taken) return nameFor(n);
  }
  return nameFor(1);
}

/** The shape every saved or restored report must have before anything reads it. */
export function isAuditReport(value: unknown): value is AuditReport {
  const r = value as AuditReport;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.kind === 'recmark-audit' &&
    typeof r.createdAt === 'string' &&
    typeof r.model?.sha256 === 'string' &&
    (r.verdict === 'present' || r.verdict === 'absent' || r.verdict === 'inconclusive')
  );
}

/** The newest saved report for a model hash, or null. Unreadable files are skipped. */
export async function latestReportFor(root: string, sha256: string): Promise<AuditReport | null> {
  const dir = path.join(root, REPORTS_DIR);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return null;
  }
  let best: AuditReport | null = null;
  for (const name of names) {
    try {
      const stat = await fs.stat(path.join(dir, name));
      if (stat.size > 50 * 1024 * 1024) continue;
      const parsed: unknown = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8'));
      if (!isAuditReport(parsed) || parsed.model.sha256 !== sha256) continue;
      if (!best || parsed.createdAt > best.createdAt) best = parsed;
    } catch {
      // A damaged or foreign file in the folder is not this view's problem.
    }
  }
  return best;
}
