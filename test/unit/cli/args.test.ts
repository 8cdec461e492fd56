/** Option parsing shared by the verbs (src/cli/args.ts): --utility-users N|all. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UsageError, utilityUsersOption } from '../../../src/cli/args';
import { commandHelp, type OptionTable } from '../../../src/cli/spec';
import { COMMANDS, USAGE } from '../../../src/cli/usage';
import { encodeModel } from '../../../src/core/onnx/model';
import { UTILITY_USERS_DEFAULT } from '../../../src/core/utility';
import { runCli, tempDir } from '../../support/helpers';
import { tinyModel } from '../../support/tinyModel';

test('--utility-users takes a positive whole number or "all"; unset keeps the default', () => {
  assert.equal(utilityUsersOption(undefined), undefined);
  assert.equal(utilityUsersOption('5000'), 5000);
  assert.equal(utilityUsersOption('1'), 1);
  assert.equal(utilityUsersOption('all'), 'all');
  assert.equal(utilityUsersOption('ALL'), 'all');
  for (const bad of ['0', '-5', '2.5', '', ' ', 'some', '1e400', 'NaN']) {
    assert.throws(
      () => utilityUsersOption(bad),
      (err: Error) =>
        err instanceof UsageError &&
        err.message.includes('--utility-users must be a positive whole number of users or "all"') &&
        err.message.includes(`got "${bad}"`),
      bad,
    );
  }
});

test('every verb that measures utility on --data takes --utility-users, with the core default', () => {
  const measuring = COMMANDS.filter(
    (c) => /^(embed|attack|robustness)\b/.test(c.name) && 'data' in c.options,
  );
  assert.ok(measuring.length >= 9, String(measuring.length));
  for (const c of measuring) {
    const option = (c.options as OptionTable)['utility-users'];
    assert.ok(option?.type === 'string', c.name);
    assert.equal(option.byDefault, UTILITY_USERS_DEFAULT, c.name);
    assert.match(
      commandHelp(c),
      new RegExp(`--utility-users N\\|all .*\\(default: ${UTILITY_USERS_DEFAULT}\\)`),
    );
  }
  assert.ok(USAGE.includes(`at most ${UTILITY_USERS_DEFAULT.toLocaleString('en-US')} users`));
});

test('a bad --utility-users stops the verb with exit code 2 before any work', async () => {
  const dir = tempDir();
  const model = path.join(dir, 'tiny.onnx');
  writeFileSync(model, encodeModel(tinyModel({ items: 30, seqLen: 12 })));
  const { code, stderr } = await runCli([
    'attack',
    'quantize',
    model,
    '--out',
    path.join(dir, 'q.onnx'),
    '--utility-users',
    'none',
  ]);
  assert.equal(code, 2, stderr);
  assert.match(
    stderr,
    /--utility-users must be a positive whole number of users or "all", got "none"/,
  );
});
