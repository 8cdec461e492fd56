import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RecMarkError } from '../core/errors';
import type { AuditReport } from '../core/report/report';
import { writeFileAtomic } from '../core/util/files';

/**
 * The standalone HTML export needs the webview bundle, which lives next to the CLI bundle
 * (dist/cli.js), and media/recmark.css. The package root is one level up from the bundle, or
 * two from this file when it runs from source (tests run src/cli/main.ts through tsx).
 */
export async function writeHtmlReport(report: AuditReport, file: string): Promise<void> {
  const { reportToHtml } = await import('../core/report/html');
  const roots = [path.join(__dirname, '..'), path.join(__dirname, '..', '..')];
  const root = [__dirname, ...roots.map((r) => path.join(r, 'dist'))].find((d) =>
    existsSync(path.join(d, 'webview.js')),
  );
  const cssFile = roots.map((r) => path.join(r, 'media', 'recmark.css')).find((f) => existsSync(f));
  if (!root || !cssFile)
    throw new RecMarkError(
      'The report assets (dist/webview.js, media/recmark.css) are missing; run "npm run build".',
      'install-broken',
    );
  const [script, css] = await Promise.all([
    fs.readFile(path.join(root, 'webview.js'), 'utf8'),
    fs.readFile(cssFile, 'utf8'),
  ]);
  await writeFileAtomic(file, reportToHtml(report, { script, css }));
}
