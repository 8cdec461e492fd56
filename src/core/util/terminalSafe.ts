/**
 * Terminal and log safety (issue 15): text that came from outside (model metadata, file names,
 * key ids and labels, profile names, service answers) may carry characters a terminal acts on
 * (ESC/CSI sequences that clear the screen or move the cursor, OSC 8 links, OSC 52 clipboard
 * writes, BEL, CR and backspace that overwrite a line) or that hide or reorder what a reader sees
 * (C1 controls, bidi overrides and isolates, zero-width characters, line separators). Every
 * output boundary (the CLI's print functions, the log, notifications) passes its text through
 * here, so no caller has to remember to.
 *
 * Such characters are shown as escapes (`\x1b`, `\u202e`); ordinary Unicode (é, 中, emoji,
 * including their zero-width joiners) is kept. A literal backslash is left as it is: the escape
 * makes a control visible, it is not meant to round-trip.
 */

/**
 * C0 controls (tab and newline are handled separately), DEL and C1 controls; the Arabic letter
 * mark, zero-width space, LRM/RLM; line and paragraph separators; bidi embeddings and overrides
 * (U+202A–U+202E); word joiner, invisible operators and bidi isolates (U+2060–U+2069); BOM;
 * interlinear annotation marks. ZWNJ/ZWJ (U+200C/U+200D) are kept: emoji and scripts use them.
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/gu;
const UNSAFE_OR_LAYOUT = new RegExp(`${UNSAFE.source}|[\\t\\n]`, 'gu');

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a name, an id, a message) for a terminal, log or notification: every control escaped. */
export function safeText(s: string): string {
  return String(s).replace(UNSAFE_OR_LAYOUT, escapeChar);
}

/**
 * Several lines RecMark itself laid out (a report, a model card): newlines and tabs are kept,
 * everything else `safeText` escapes is escaped.
 */
export function safeLines(s: string): string {
  return String(s).replace(UNSAFE, escapeChar);
}

/**
 * JSON text (`--json`): JSON.stringify already escapes C0 controls, but not DEL, C1, bidi or
 * separators. Outside strings JSON text is ASCII, so these can only sit inside a string, where
 * `\uXXXX` is a valid escape of the same character: a JSON consumer reads the same value, while
 * a person who prints the raw line to a terminal sees no reordering or control sequence.
 */
export function safeJson(json: string): string {
  return json.replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
