import { formatModelCard, inspectModel } from '../../core/report/modelCard';
import { parse, UsageError, JSON_OUTPUT } from '../args';
import { print, printJson } from '../output';
import { command } from '../spec';

export const INSPECT = command({
  name: 'inspect',
  synopsis: ['inspect MODEL [--json]'],
  about: 'Describe a recommender ONNX checkpoint: inputs, scores, catalogue, adapter.',
  options: { json: JSON_OUTPUT },
});

/** inspect MODEL: the model card, as text or --json. */
export async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, INSPECT);
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one MODEL path');
  const { card } = await inspectModel(positionals[0]);
  if (values.json) printJson(card);
  else print(formatModelCard(card));
}
