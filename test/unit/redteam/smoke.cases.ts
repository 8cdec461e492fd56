/** The harness itself: a run that must be refused, and one that must succeed. */
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import { fixture } from '../../support/helpers';
import type { CaseFactory } from './harness';

export const cases: CaseFactory[] = [
  {
    area: 'resources',
    name: 'a model that is not ONNX is refused with its name',
    make: async (dir) => {
      const model = path.join(dir, 'junk.onnx');
      writeFileSync(model, 'not a model');
      return { args: ['inspect', model], exit: 2, message: /junk\.onnx/, unchanged: [model] };
    },
  },
  {
    area: 'resources',
    name: 'inspecting a fixture works under the bound',
    make: async () => ({
      args: ['inspect', fixture('gru4rec.onnx')],
      exit: 0,
      message: /GRU|gru/i,
      rssMiB: 512,
    }),
  },
];
