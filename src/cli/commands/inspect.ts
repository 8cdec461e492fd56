import { formatModelCard, inspectModel } from '../../core/report/modelCard';
import { parse, UsageError } from '../args';
import { print, printJson } from '../output';

/** inspect MODEL: the model card, as text or --json. */
export async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one MODEL path');
  const { card } = await inspectModel(positionals[0]);
  if (values.json) printJson(card);
  else print(formatModelCard(card));
}
