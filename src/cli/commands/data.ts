/** data check FILE [--id-map MAP] [--model MODEL]: what RecMark reads in a data file. */
import { itemPredicate, readData } from '../../core/data/interactions';
import { dataSummaryLines, summariseData } from '../../core/data/dataSummary';
import { openModel } from '../../core/onnx/open';
import { parse, UsageError } from '../args';
import { printJson, printLines } from '../output';

export async function dataCommand(args: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(args, {
    'id-map': { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [sub, file, ...extra] = positionals;
  if (sub !== 'check')
    throw new UsageError(
      sub === undefined
        ? 'data needs a subcommand: "data check FILE"'
        : `unknown data subcommand "${sub}"`,
    );
  if (!file || extra.length > 0) throw new UsageError('data check takes exactly one FILE');
  const isItem = values.model ? itemPredicate((await openModel(values.model)).adapter) : undefined;
  const idMap = values['id-map'];
  const data = await readData(idMap ? { file, idMap } : file, { isItem, signal });
  const summary = summariseData(data, idMap !== undefined);
  if (values.json) printJson({ file, ...summary });
  else printLines(dataSummaryLines(file, summary));
}
