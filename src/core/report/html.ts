/**
 * The standalone HTML export: one self-contained file that renders an audit report in any
 * browser, offline. The report travels as inert JSON; the webview bundle (the same code that
 * draws the report inside VS Code) is inlined under a nonce-only Content-Security-Policy, so the
 * page can load nothing from anywhere and run no script but its own.
 */
import { randomBytes } from 'node:crypto';
import type { AuditReport } from './report';
import { safeText } from '../util/terminalSafe';

/** The id of the `<script type="application/json">` block the webview reads in standalone mode. */
export const REPORT_ELEMENT_ID = 'recmark-report';

export interface ReportAssets {
  /** The webview bundle (dist/webview.js). */
  script: string;
  /** The stylesheet (media/recmark.css). */
  css: string;
}

export function reportToHtml(report: AuditReport, assets: ReportAssets): string {
  const nonce = randomBytes(18).toString('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'unsafe-inline'",
    'img-src data:',
  ].join('; ');
  const title = `RecMark audit: ${report.model.fileName}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="RecMark">
<title>${escapeHtml(title)}</title>
<style>
${inlineText(assets.css, 'style')}
</style>
</head>
<body class="rm-standalone">
<main id="app" aria-live="polite">
${fallbackSummary(report)}
</main>
<script type="application/json" id="${REPORT_ELEMENT_ID}">${reportJson(report)}</script>
<script nonce="${nonce}">
${inlineText(stripSourceMap(assets.script), 'script')}
</script>
</body>
</html>
`;
}

/**
 * The report as JSON that is safe inside a `<script>` element: `<` is written as `\u003c`, so no
 * string in the report (a model file name, say) can close the element. Any property called
 * "secret" is dropped on the way, whatever produced the object.
 */
export function reportJson(report: AuditReport): string {
  return JSON.stringify(report, (key, value: unknown) =>
    /secret/i.test(key) ? undefined : value,
  ).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a reader sees before (or without) the script: the verdict in plain HTML. */
function fallbackSummary(report: AuditReport): string {
  return [
    `<h1>Watermark audit: ${escapeHtml(report.model.fileName)}</h1>`,
    `<p><strong>${escapeHtml(report.verdict.toUpperCase())}</strong> (${escapeHtml(report.scheme.toUpperCase())}, p = ${escapeHtml(report.pValueText)}, α = ${escapeHtml(String(report.alpha))})</p>`,
    `<p>${escapeHtml(report.sentence)}</p>`,
    ...(report.endpoint
      ? [
          `<p>Audited through the endpoint ${escapeHtml(report.endpoint.name)}: ${report.endpoint.probes.answered} of ${report.endpoint.probes.wanted} probes answered (${report.endpoint.probes.lost} lost), ${report.endpoint.queries.spent} queries spent.</p>`,
        ]
      : []),
    '<noscript><p>The charts and tables need JavaScript; the report data is embedded in this file as JSON.</p></noscript>',
  ].join('\n');
}

/**
 * Text placed inside a raw-text element must not contain its end tag. In both JavaScript (string,
 * template or regular-expression literal) and CSS, `<\/` means the same as `</`.
 */
function inlineText(text: string, element: 'script' | 'style'): string {
  const safe = text.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
  // `<!--` followed by `<script` (before any `-->`) would put the HTML parser in a state where
  // even the real end tag does not end the script. No rewrite keeps every JavaScript construct
  // intact, so refuse rather than write a broken file.
  if (element === 'script' && /<!--(?:(?!-->)[\s\S])*<script[\s/>]/i.test(safe)) {
    throw new Error(
      'The webview bundle cannot be inlined: it contains "<!--" followed by "<script".',
    );
  }
  return safe;
}

function stripSourceMap(script: string): string {
  return script.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

/** HTML-escaped, with controls and bidi overrides shown as escapes (a file name cannot reorder the page). */
function escapeHtml(text: string): string {
  return safeText(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
