import { stripAttack } from '../../core/attack/strip';
import { stripLines } from '../../core/report/resultText';
import { dataRef, intOption, parse, utilityUsersOption } from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { command } from '../spec';
import { attackPaths } from '../targets';
import { COPY_ATTACK_OPTIONS } from './perturb';

export const ATTACK_STRIP = command({
  name: 'attack strip',
  synopsis: ['attack strip MODEL --out OUT [--data FILE] [options]'],
  about: `Simulate a thief deleting what is not architecture: everything between the scoring layer
(the last MatMul/Gemm of the score output's shape, with its bias) and the score output,
e.g. a GREW watermark embedded in serve mode, which goes with it. OUT keeps MODEL's input
and output names and shapes; prints what was removed (or that nothing was) and the
top-10 overlap with MODEL (and Recall/NDCG@10 with --data).`,
  options: COPY_ATTACK_OPTIONS,
});

/** attack strip: remove the post-processing after MODEL's scoring layer. */
export async function stripCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, ATTACK_STRIP);
  const { model, out } = await attackPaths('strip', positionals, values);
  const quiet = values.json ?? false;
  const r = await stripAttack({
    model,
    out,
    data: dataRef(values),
    utilityUsers: utilityUsersOption(values['utility-users']),
    seed: intOption(values.seed, 'seed'),
    signal,
    progress: quiet ? undefined : stepPrinter(),
  });
  if (quiet) {
    printJson({ attack: 'strip', ...r });
    return;
  }
  printLines(stripLines(r));
}
