/**
 * conformance/expectations.yaml: every tlsfuzzer conversation renego is allowed to fail, per
 * script and server configuration, each with its reason. A reason is one of four kinds, so the
 * file says why and can be kept honest:
 *   inapplicable: …                   the conversation tests something the preset deliberately lacks
 *   stricter (RFC NNNN §X.Y): …        renego refuses what the script expects accepted, citing the rule
 *   being fixed: …                     a known server finding; delete the entry once the fix lands
 *   new finding: …                     a deviation this check found, not yet known: to be filed and fixed
 * A reason may be written out or name an entry of `reasons:`.
 */
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';

export const REASON_SHAPE = /^(inapplicable: |stricter \(RFC \d+ §[\d.]+\): |being fixed: |new finding: )/;

export interface Expectations {
  /** script → config → conversation → reason (resolved). */
  readonly failures: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>;
}

interface ExpectationsFile {
  reasons?: Record<string, string>;
  'expected-failures'?: Record<string, Record<string, Record<string, string>>>;
}

/** Reads and checks the file; throws naming every malformed entry. */
export async function loadExpectations(path: string): Promise<Expectations> {
  const raw = (parse(await readFile(path, 'utf8')) ?? {}) as ExpectationsFile;
  const reasons = raw.reasons ?? {};
  const problems: string[] = [];
  const failures = new Map<string, Map<string, Map<string, string>>>();
  for (const [script, byConfig] of Object.entries(raw['expected-failures'] ?? {})) {
    const perScript = new Map<string, Map<string, string>>();
    failures.set(script, perScript);
    for (const [config, conversations] of Object.entries(byConfig ?? {})) {
      const perConfig = new Map<string, string>();
      perScript.set(config, perConfig);
      for (const [conversation, reason] of Object.entries(conversations ?? {})) {
        const text = typeof reason === 'string' ? (reasons[reason] ?? reason) : '';
        if (!REASON_SHAPE.test(text)) {
          problems.push(
            `${script} / ${config} / '${conversation}': reason ${JSON.stringify(reason)} has none of the four shapes`,
          );
        }
        perConfig.set(conversation, text);
      }
    }
  }
  if (problems.length > 0) throw new Error(`${path}:\n  ${problems.join('\n  ')}`);
  return { failures };
}

export function expectedFor(e: Expectations, script: string, config: string): ReadonlyMap<string, string> {
  return e.failures.get(script)?.get(config) ?? new Map();
}

/** The expected-failures block for a run's actual failures: known reasons kept, the rest TODO (`--record`). */
export function recordExpectations(
  e: Expectations,
  actual: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>,
): string {
  const out: Record<string, Record<string, Record<string, string>>> = {};
  for (const [script, byConfig] of actual) {
    for (const [config, failed] of byConfig) {
      if (failed.length === 0) continue;
      const known = expectedFor(e, script, config);
      for (const conversation of failed) {
        ((out[script] ??= {})[config] ??= {})[conversation] = known.get(conversation) ?? 'TODO';
      }
    }
  }
  return stringify({ 'expected-failures': out }, { lineWidth: 0 });
}
