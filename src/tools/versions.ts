/** Protocol-version names on the command line (`--min-version`, `--max-version` of client and server). */
import { ProtocolVersion } from '../wire/enums.ts';
import { UsageError } from './usage.ts';

export function versionFromName(name: string | undefined, fallback: number): number {
  if (!name) return fallback;
  const table: Record<string, number> = {
    tls1: ProtocolVersion.TLSv1,
    'tls1.0': ProtocolVersion.TLSv1,
    tlsv1: ProtocolVersion.TLSv1,
    'tls1.1': ProtocolVersion['TLSv1.1'],
    'tlsv1.1': ProtocolVersion['TLSv1.1'],
    'tls1.2': ProtocolVersion['TLSv1.2'],
    'tlsv1.2': ProtocolVersion['TLSv1.2'],
  };
  const v = table[name.toLowerCase()];
  if (v === undefined)
    throw new UsageError(`unknown version ${name}: use tls1, tls1.1 or tls1.2 (renego speaks TLS ≤ 1.2)`);
  return v;
}
