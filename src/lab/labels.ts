/**
 * The lab's words, in one place: the text matrix and the HTML report use the
 * same column heads and cell values, so a reader can move between them.
 */
import type { CellResult } from './run.ts';

export const COLUMN = {
  defence: 'defence',
  attack: 'attack',
  /** Does the victim's own client-certificate login still work under this defence? */
  legitimateFlow: 'client-cert login',
  scan: 'renego scan finds',
  attacksSucceeded: 'attacks succeeded',
} as const;

export const LEGITIMATE_FLOW = { works: 'works', broken: 'BROKEN' } as const;

export const SCAN_FOUND = { failed: 'could not scan', nothing: 'nothing' } as const;

export function verdictOf(c: CellResult): string {
  return c.attackSucceeded ? 'ATTACK SUCCEEDED' : `blocked by ${c.blockedBy}`;
}

export function legitimateFlowOf(c: CellResult): string {
  return c.legitimateFlowWorks ? LEGITIMATE_FLOW.works : LEGITIMATE_FLOW.broken;
}

export function scanFoundOf(c: CellResult): string | undefined {
  if (!c.scan) return undefined;
  if (!c.scan.ok) return SCAN_FOUND.failed;
  return c.scan.vulnerabilities.length > 0 ? c.scan.vulnerabilities.join(', ') : SCAN_FOUND.nothing;
}
