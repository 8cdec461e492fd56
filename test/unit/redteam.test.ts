/**
 * The red-team corpus (issue 15): hostile services, repositories, files and options, each one a
 * real CLI process (redteam/harness.ts). At least 60 cases across the ten areas.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../support/helpers';
import { AREAS, runRedTeam, type Area, type CaseFactory } from './redteam/harness';

const MIN_CASES = 60;
import { AREA_FILES } from './redteam/index';

test('the red-team corpus', async (t) => {
  const cases: CaseFactory[] = [];
  for (const load of AREA_FILES) cases.push(...(await load()).cases);
  for (const c of cases) {
    await t.test(`[${c.area}] ${c.name}`, async (tt) => {
      const made = await c.make(tempDir('recmark-redteam-'));
      try {
        const seen = await runRedTeam({ ...made, area: c.area, name: c.name });
        tt.diagnostic(`peak RSS ${seen.rssMiB.toFixed(0)} MiB`);
      } finally {
        await made.cleanup?.();
      }
    });
  }
  const areas = new Set<Area>(cases.map((c) => c.area));
  assert.ok(cases.length >= MIN_CASES, `${cases.length} cases; the corpus needs ${MIN_CASES}`);
  assert.equal(areas.size, AREAS.length, `areas covered: ${[...areas].join(', ')}`);
});
