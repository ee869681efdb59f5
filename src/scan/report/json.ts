/** `--json`: one JSON object per target, one line each (JSON Lines when there are several). */
import type { ScanReport } from '../types.ts';

export function jsonLine(report: ScanReport): string {
  return JSON.stringify(report);
}
