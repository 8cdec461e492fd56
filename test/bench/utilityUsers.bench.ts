/**
 * Utility on a sample of users (issue 17 item 4): `embed grew --data` with a 31,013-user data
 * file against a 5,000-user one, by default (a seeded sample of UTILITY_USERS_DEFAULT users) and
 * with every user ('all'), back to back in one process on the SASRec fixture. The users are
 * MovieLens histories resampled in the fixture's id space (each a random 5–60-item window of a
 * real user's sequence), so every id is valid. Served-head mode: the utility step is the same
 * in both modes, and serving leaves out the training, which does not read more data with more
 * users. Prints wall time, the utility step, the intervals each gives, and the load average.
 * Env: UTILITY_BENCH_USERS (default 31013).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Rng } from '../../src/core/util/random';
import { embedGrew } from '../../src/core/watermark/grew';
import type { UtilityUsers } from '../../src/core/utility';
import { utilityLines } from '../../src/core/report/text';
import { fixture } from '../support/helpers';
import { movielensSequences } from '../support/movielens';

const load = (): string => readFileSync('/proc/loadavg', 'utf8').trim();

function resampledUsers(count: number): number[][] {
  const real = movielensSequences();
  const rng = new Rng(17);
  return Array.from({ length: count }, () => {
    const src = real[rng.int(real.length)];
    const len = Math.min(src.length, 5 + rng.int(56));
    const start = rng.int(src.length - len + 1);
    return src.slice(start, start + len);
  });
}

function writeData(dir: string, users: number[][], name: string): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    users.flatMap((s, u) => s.map((item) => `${u + 1} ${item}`)).join('\n') + '\n',
  );
  return file;
}

async function main(): Promise<void> {
  const total = Number(process.env.UTILITY_BENCH_USERS ?? 31_013);
  const dir = mkdtempSync(path.join(tmpdir(), 'recmark-utility-bench-'));
  try {
    const users = resampledUsers(total);
    const big = writeData(dir, users, 'big.txt');
    const small = writeData(dir, users.slice(0, 5000), 'small.txt');
    const runs: { name: string; data: string; utilityUsers?: UtilityUsers }[] = [
      { name: `${(5000).toLocaleString('en-US')} users, default`, data: small },
      { name: `${total.toLocaleString('en-US')} users, default`, data: big },
      {
        name: `${total.toLocaleString('en-US')} users, --utility-users all`,
        data: big,
        utilityUsers: 'all',
      },
    ];
    const results: { name: string; seconds: number; utility: number }[] = [];
    for (const run of runs) {
      console.log(`\n${run.name} (load ${load()})`);
      const started = performance.now();
      const r = await embedGrew({
        model: fixture('sasrec_opset17.onnx'),
        out: path.join(dir, `marked-${results.length}.onnx`),
        data: run.data,
        mode: 'serve',
        seed: 1,
        utilityUsers: run.utilityUsers,
      });
      const seconds = (performance.now() - started) / 1000;
      const utility = (r.timings.find((t) => t.step === 'utility')?.ms ?? NaN) / 1000;
      results.push({ name: run.name, seconds, utility });
      console.log(
        `  embed ${seconds.toFixed(1)} s, utility step ${utility.toFixed(1)} s (load ${load()})`,
      );
      for (const line of utilityLines(r.utility)) console.log(`  ${line}`);
    }
    const [five, big31, all] = results;
    console.log('\nratios (same process, back to back):');
    console.log(
      `  31k default / 5k default: embed ${(big31.seconds / five.seconds).toFixed(2)}×, utility ${(big31.utility / five.utility).toFixed(2)}×`,
    );
    console.log(
      `  31k all / 31k default:    embed ${(all.seconds / big31.seconds).toFixed(2)}×, utility ${(all.utility / big31.utility).toFixed(2)}×`,
    );
    console.log(`load ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
