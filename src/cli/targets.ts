/** The files a verb writes, checked before any work starts. */
import { sidecarPath } from '../core/onnx/sidecar';
import { checkOutputPath } from '../core/util/files';
import { dataInputs, type DataValues, UsageError } from './args';

/**
 * Outputs are new files: never an input (by path, symlink or hard link), never a folder, never
 * an existing file unless --force; checked before any work (see checkOutputPath).
 */
export async function checkOutput(
  file: string,
  inputs: (string | undefined)[],
  force: boolean,
  flag = '--out',
): Promise<void> {
  const named = inputs.filter((i): i is string => !!i);
  await checkOutputPath(file, { flag, inputs: named, force });
}

/** MODEL and --out of an attack verb: one MODEL, an OUT that is new (or --force) and no input. */
export async function attackPaths(
  verb: string,
  positionals: string[],
  values: { out?: string; force?: boolean } & DataValues,
  options: { outName?: string; inputs?: (string | undefined)[] } = {},
): Promise<{ model: string; out: string }> {
  const [model, ...extra] = positionals;
  if (!model || extra.length > 0)
    throw new UsageError(`attack ${verb} takes exactly one MODEL path`, `attack ${verb}`);
  if (!values.out)
    throw new UsageError(
      `attack ${verb} needs --out ${options.outName ?? 'OUT.onnx'}`,
      `attack ${verb}`,
    );
  const inputs = [model, sidecarPath(model), ...dataInputs(values), ...(options.inputs ?? [])];
  await checkOutput(values.out, inputs, values.force ?? false);
  return { model, out: values.out };
}
