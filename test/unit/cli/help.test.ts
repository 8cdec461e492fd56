/** Per-command help (src/cli/spec.ts, usage.ts) and "did you mean" for unknown flags and commands. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../../../src/cli/main';
import { commandHelp, type OptionTable } from '../../../src/cli/spec';
import { closest, editDistance } from '../../../src/cli/suggest';
import { COMMANDS, commandUsage, USAGE } from '../../../src/cli/usage';
import { FINETUNE_DEFAULTS } from '../../../src/core/attack/finetune';
import { DEFAULT_ALPHA } from '../../../src/core/report/report';
import { AOW_DEFAULTS } from '../../../src/core/watermark/aow';
import { GREW_DEFAULTS } from '../../../src/core/watermark/grew';
import { GREW_WEIGHTS_DEFAULTS } from '../../../src/core/watermark/grewWeights';
import { runCli } from '../../support/helpers';

/** A help text's Options section: one line per option. */
function optionSection(help: string): string[] {
  return help.slice(help.indexOf('\nOptions:\n') + 10).split('\n');
}
/** The line of one option in a help text's Options section. */
function optionLine(help: string, flag: string): string {
  return optionSection(help).find((l) => l.startsWith(`  --${flag} `)) ?? '';
}
/** The flags a help text lists in its Options section, in order. */
function helpFlags(help: string): string[] {
  return optionSection(help).map((l) => /^ {2}--([a-z-]+)/.exec(l)?.[1] ?? l);
}

/** What `run` does with one flag (and a value for a string option): null when it was accepted. */
async function rejection(
  words: string[],
  flag: string,
  takesValue: boolean,
): Promise<string | null> {
  // No MODEL/FILE positional: every command stops at that check right after parsing, before work.
  const args = [...words, `--${flag}`, ...(takesValue ? ['x'] : [])];
  try {
    await run(args);
    assert.fail(`${args.join(' ')} ran`);
  } catch (err) {
    const message = (err as Error).message;
    const rejected = /has no option|takes .*, not --/.test(message);
    return rejected ? message : null;
  }
}

const VOCABULARY = new Map<string, boolean>(
  COMMANDS.flatMap((c) => Object.entries(c.options).map(([n, o]) => [n, o.type === 'string'])),
);

test('each command’s help lists exactly the options its table declares, each with its default', () => {
  assert.equal(COMMANDS.length, 13);
  for (const c of COMMANDS) {
    const [command, sub] = c.name.split(' ');
    const help = commandUsage(command, sub);
    assert.equal(help, commandHelp(c), c.name);
    assert.ok(help!.startsWith(`Usage: recmark ${c.name} `), c.name);
    assert.deepEqual(helpFlags(help!), Object.keys(c.options), c.name);
    for (const [name, option] of Object.entries(c.options as OptionTable)) {
      const line = optionLine(help!, name);
      assert.ok(line.length > `  --${name} `.length + 10, `${c.name} --${name} is explained`);
      if (option.type === 'string')
        assert.match(line, /\((default: .+|required)\)$/, `${c.name} --${name}`);
    }
  }
});

test('every command parses exactly the options its help lists (and rejects every other)', async () => {
  for (const c of COMMANDS) {
    const words = c.name.split(' ');
    const listed = new Set(helpFlags(commandHelp(c)));
    for (const [flag, takesValue] of VOCABULARY) {
      const refused = await rejection(words, flag, takesValue);
      if (listed.has(flag)) assert.equal(refused, null, `${c.name} refuses its --${flag}`);
      else assert.notEqual(refused, null, `${c.name} accepts --${flag}, which its help lacks`);
    }
  }
});

test('embed grew --help shows only GREW’s options, with the core defaults', async () => {
  const { code, stdout, stderr } = await runCli(['embed', 'grew', '--help']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Usage: recmark embed grew MODEL/);
  assert.doesNotMatch(stdout, /--bottom-m|embed aow/);
  const line = (flag: string) => optionLine(stdout.trimEnd(), flag);
  assert.match(line('gamma'), new RegExp(`γ.*\\(default: ${GREW_DEFAULTS.gamma}\\)$`));
  assert.match(line('kc'), new RegExp(`Kc.*\\(default: ${GREW_DEFAULTS.kc}\\)$`));
  assert.match(line('protect-head'), new RegExp(`\\(default: ${GREW_DEFAULTS.protectHead}\\)$`));
  assert.match(
    line('delta'),
    new RegExp(
      `δ.*${GREW_WEIGHTS_DEFAULTS.delta} in weights mode, ${GREW_DEFAULTS.delta} in serve`,
    ),
  );
  assert.match(line('target-z'), new RegExp(`\\(default: ${GREW_WEIGHTS_DEFAULTS.targetZ}\\)$`));
  assert.match(line('out'), /\(required\)$/);
});

test('other commands’ help: their own options and defaults only', () => {
  const aow = commandUsage('embed', 'aow')!;
  assert.match(aow, new RegExp(`--bottom-m M .*\\(default: ${AOW_DEFAULTS.bottomM}\\)`));
  assert.match(aow, /--lr LR .*\(default: 3e-4\)/);
  assert.doesNotMatch(aow, /--gamma/);
  const verify = commandUsage('verify', undefined)!;
  assert.match(verify, new RegExp(`--probes N .*\\(default: ${GREW_DEFAULTS.probes}\\)`));
  assert.match(verify, /--alpha A .*\(default: 1e-4\)/);
  assert.equal(DEFAULT_ALPHA, 1e-4);
  assert.match(verify, /--cache DIR .*\(default: \.recmark\/endpoint-cache\)/);
  const prune = commandUsage('attack', 'prune')!;
  assert.match(prune, /--fraction F .*\(required\)/);
  assert.doesNotMatch(prune, /--scale|--epochs/);
  const finetune = commandUsage('attack', 'finetune')!;
  assert.match(finetune, new RegExp(`--fraction F .*\\(default: ${FINETUNE_DEFAULTS.fraction}\\)`));
  assert.match(commandUsage('data', 'check')!, /--model MODEL .*catalogue/);
  // A word with several commands: their synopses, and where each one's options are.
  const attack = commandUsage('attack', undefined)!;
  assert.match(attack, /attack prune MODEL[\s\S]*attack extract MODEL/);
  assert.match(attack, /Run "recmark attack <finetune\|prune\|.*> --help"/);
  assert.equal(commandUsage('bogus', undefined), null);
});

test('recmark --help is the overview of every command and points at per-command help', async () => {
  for (const c of COMMANDS) assert.ok(USAGE.includes(`\n  ${c.synopsis[0]}\n`), c.name);
  const { code, stdout } = await runCli(['--help']);
  assert.equal(code, 0);
  assert.match(stdout, /"recmark <command> --help" lists every option/);
  const bare = await runCli([]);
  assert.equal(bare.code, 2);
});

test('a mistyped flag: exit 2, one line naming it, the closest flag of that command and its help', async () => {
  for (const [args, given, meant, command] of [
    [['verify', 'm.onnx', '--key', 'k.json', '--porbes', '10'], '--porbes', '--probes', 'verify'],
    [['embed', 'grew', 'm.onnx', '--key-outt', 'k.json'], '--key-outt', '--key-out', 'embed grew'],
    [['attack', 'prune', 'm.onnx', '--fractoin=0.5'], '--fractoin', '--fraction', 'attack prune'],
  ] as const) {
    const { code, stdout, stderr } = await runCli([...args]);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.equal(
      stderr.trim(),
      `recmark: ${command} has no option ${given}; did you mean ${meant}? ` +
        `(run "recmark ${command} --help" for its options)`,
    );
  }
  // --bottom-m is AOW's: GREW names it unknown and guesses nothing far-fetched.
  const grew = await runCli(['embed', 'grew', 'm.onnx', '--bottom-m', '100']);
  assert.equal(grew.code, 2);
  assert.match(
    grew.stderr,
    /embed grew has no option --bottom-m \(run "recmark embed grew --help"/,
  );
});

test('a flag without its value, or a switch given one, is a usage error naming the flag', async () => {
  await assert.rejects(
    run(['attack', 'prune', 'm.onnx', '--out']),
    /--out needs a value: --out OUT/,
  );
  await assert.rejects(
    run(['inspect', 'm.onnx', '--json=yes']),
    /--json is a switch and takes no value/,
  );
  await assert.rejects(
    run(['verify', 'm.onnx', '--key', '--json']),
    /--key needs a value: --key KEY/,
  );
});

test('a mistyped command or subcommand gets the closest one; a far-off word gets no guess', async () => {
  const verb = await runCli(['verfy', 'm.onnx']);
  assert.equal(verb.code, 2);
  assert.equal(
    verb.stderr.trim(),
    'recmark: unknown command "verfy"; did you mean "verify"? (run "recmark --help" for usage)',
  );
  await assert.rejects(
    run(['attack', 'prnue', 'm.onnx']),
    /unknown attack "prnue" .*did you mean "prune"\?/,
  );
  await assert.rejects(run(['embed', 'arw']), /did you mean "aow"\?.*recmark embed --help/);
  await assert.rejects(run(['data', 'chekc', 'f']), /did you mean "check"\?/);
  await assert.rejects(run(['frobnicate']), (err: Error) => !/did you mean/.test(err.message));
});

test('edit distance counts a swap of neighbours as one edit; closest needs a plausible typo', () => {
  assert.equal(editDistance('porbes', 'probes'), 1);
  assert.equal(editDistance('key-outt', 'key-out'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(closest('porbes', ['seed', 'probes', 'top-k']), 'probes');
  assert.equal(closest('bogus', ['json']), undefined);
  assert.equal(closest('kc', ['lr', 'kc']), 'kc');
  assert.equal(closest('seeds', ['seed', 'speed']), 'seed');
});
