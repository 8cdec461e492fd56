/** safeText / safeLines / safeJson: controls escaped, ordinary Unicode kept (issue 15). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeJson, safeLines, safeText } from '../../../../src/core/util/terminalSafe';

/** Anything a terminal acts on or that hides or reorders text. */
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex -- the test looks for control characters
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

test('ANSI CSI, OSC 8 links and OSC 52 clipboard writes are escaped', () => {
  assert.equal(safeText('\x1b[2J\x1b[31mred'), '\\x1b[2J\\x1b[31mred');
  assert.equal(
    safeText('\x1b]8;;https://evil.example\x07click\x1b]8;;\x07'),
    '\\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07',
  );
  assert.equal(safeText('\x1b]52;c;cm0gLXJmIH4=\x1b\\'), '\\x1b]52;c;cm0gLXJmIH4=\\x1b\\');
});

test('BEL, CR, backspace, NUL, DEL and C1 controls are escaped', () => {
  assert.equal(safeText('a\x07b\rc\bd\x00e\x7f'), 'a\\x07b\\x0dc\\x08d\\x00e\\x7f');
  assert.equal(safeText('\u009b2J \u0085 \u0080'), '\\x9b2J \\x85 \\x80');
});

test('bidi overrides, isolates, marks, zero-width and line separators are escaped', () => {
  assert.equal(safeText('key\u202Egpj.exe'), 'key\\u202egpj.exe');
  for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x2066, 0x2067, 0x2068, 0x2069])
    assert.equal(safeText(String.fromCodePoint(cp)), `\\u${cp.toString(16)}`);
  assert.equal(safeText('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
  assert.equal(safeText('a\u200bb\u200ec\u200fd\ufeff'), 'a\\u200bb\\u200ec\\u200fd\\ufeff');
});

test('ordinary Unicode is kept: accents, CJK, emoji with joiners, spaces', () => {
  const s = 'café 中文 Ελληνικά עברית 👩‍👩‍👧 🇫🇷 ok';
  assert.equal(safeText(s), s);
  assert.equal(safeLines(s), s);
  assert.equal(safeJson(JSON.stringify(s)), JSON.stringify(s));
});

test('safeText escapes newlines and tabs; safeLines keeps them', () => {
  assert.equal(safeText('a\nb\tc'), 'a\\x0ab\\x09c');
  assert.equal(safeLines('line 1\n\tline 2\r\x1b[1A'), 'line 1\n\tline 2\\x0d\\x1b[1A');
});

test('safeJson keeps the value and leaves no raw control in the text', () => {
  const value = { name: 'x\u202Ey\u0085z\x7f\u2028', esc: '\x1b[2J', ok: 'é中' };
  const text = safeJson(JSON.stringify(value));
  assert.doesNotMatch(text, RAW_CONTROL);
  assert.deepEqual(JSON.parse(text), value);
  assert.match(text, /\\u202e/);
  // Indented JSON keeps its layout (newlines outside strings are not controls here).
  const pretty = safeJson(JSON.stringify(value, null, 2));
  assert.deepEqual(JSON.parse(pretty), value);
});

test('every output of the three functions is free of raw controls', () => {
  let all = '';
  for (let cp = 0; cp < 0x3000; cp++) all += String.fromCodePoint(cp);
  assert.doesNotMatch(safeText(all), RAW_CONTROL);
  assert.doesNotMatch(safeLines(all), RAW_CONTROL);
  assert.doesNotMatch(safeJson(JSON.stringify(all)), RAW_CONTROL);
});
