/** Every area file of the red-team corpus (issue 15); redteam.test.ts runs them all. */
import type { CaseFactory } from './harness';

export const AREA_FILES: (() => Promise<{ cases: CaseFactory[] }>)[] = [
  () => import('./smoke.cases'),
  () => import('./transport.cases'),
  () => import('./files.cases'),
  () => import('./terminal.cases'),
  () => import('./secrets.cases'),
];
