/** data check FILE [--id-map MAP] [--model MODEL]: what RecMark reads in a data file. */
import * as path from 'node:path';
import { itemPredicate, readData, readProgress } from '../../core/data/interactions';
import { dataSummaryLines, summariseData } from '../../core/data/dataSummary';
import { openModel } from '../../core/onnx/open';
import { ID_MAP, JSON_OUTPUT, parse, UsageError } from '../args';
import { printJson, printLines, stepPrinter } from '../output';
import { command, str } from '../spec';
import { didYouMean } from '../suggest';

export const DATA_CHECK = command({
  name: 'data check',
  synopsis: ['data check FILE [--id-map MAP] [--model MODEL] [options]'],
  about: `Print what RecMark reads in FILE: its format, users, items, sequence lengths and, with
--id-map, the raw ids the map lacks; with --model, every item is checked against MODEL.`,
  options: {
    'id-map': ID_MAP,
    model: str('MODEL', "check every item of FILE against MODEL's catalogue", 'none'),
    json: JSON_OUTPUT,
  },
});

export async function dataCommand(args: string[], signal: AbortSignal): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'check')
    throw new UsageError(
      sub === undefined || sub.startsWith('-')
        ? 'data needs a subcommand: "data check FILE"'
        : `unknown data subcommand "${sub}"${didYouMean(sub, ['check'])}`,
      'data',
    );
  const { values, positionals } = parse(rest, DATA_CHECK);
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new UsageError('data check takes exactly one FILE');
  const isItem = values.model ? itemPredicate((await openModel(values.model)).adapter) : undefined;
  const idMap = values['id-map'];
  // A large file takes a while to parse: lines read on stderr (not with --json, like the others).
  const progress = values.json ? undefined : stepPrinter();
  const reading = `Reading ${path.basename(file)}`;
  progress?.({ message: reading });
  const data = await readData(idMap ? { file, idMap } : file, {
    isItem,
    signal,
    onProgress: progress && readProgress(progress, reading),
  });
  const summary = summariseData(data, idMap !== undefined);
  if (values.json) printJson({ file, ...summary });
  else printLines(dataSummaryLines(file, summary));
}
