/**
 * The red-team corpus (issue 15): hostile services, repositories, files and options, each one a
 * real CLI process (redteam/harness.ts). At least 60 cases across the ten areas.
 */
import { test } from 'node:test';
import { tempDir } from './helpers';
import { runRedTeam, type CaseFactory } from './redteam/harness';
import { AREA_FILES } from './redteam/index';

test('the red-team corpus', async (t) => {
  const cases: CaseFactory[] = [];
  for (const load of AREA_FILES) cases.push(...(await load()).cases);
  for (const c of cases) {
    await t.test(`[${c.area}] ${c.name}`, async () => {
      const made = await c.make(tempDir('recmark-redteam-'));
      try {
        await runRedTeam({ ...made, area: c.area, name: c.name });
      } finally {
        await made.cleanup?.();
      }
    });
  }
  // TODO(issue 15): once every area's file is in, the corpus must hold MIN_CASES over all ten.
});
