/**
 * The defences of the 2009 debate, each a server configuration, a victim client
 * and optionally `renego guard` in front of the server.
 */
import type { ClientRenegotiationPolicy } from '../handshake/client-config.ts';
import type { ServerPresetName } from '../handshake/server-presets.ts';

export type VictimKind = 'legacy' | 'rfc5746-compatible' | 'strict';

export interface Defence {
  id: string;
  /** Short enough for an 80-column matrix; the row head in the text and HTML reports. */
  label: string;
  title: string;
  where: 'none' | 'server' | 'client' | 'guard';
  server: ServerPresetName;
  victim: VictimKind;
  guard?: 'deny' | 'secure-only';
}

export const DEFENCES: readonly Defence[] = [
  {
    id: 'none',
    label: 'legacy server and client',
    title: 'legacy server, legacy client',
    where: 'none',
    server: 'legacy-2009',
    victim: 'legacy',
  },
  {
    id: 'server-rfc5746',
    label: 'server RFC 5746',
    title: 'server RFC 5746',
    where: 'server',
    server: 'rfc5746',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'server-renegotiation-off',
    label: 'renegotiation off (977377)',
    title: 'renegotiation off (advisory 977377)',
    where: 'server',
    server: 'iis-977377',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'server-initial-client-cert',
    label: 'client cert up front',
    title: 'client certificate at the initial handshake',
    where: 'server',
    server: 'iis-always-nego-client-cert',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'server-strict',
    label: 'server strict RFC 5746',
    title: 'server strict RFC 5746',
    where: 'server',
    server: 'rfc5746-strict',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'client-rfc5746',
    label: 'client RFC 5746 only',
    title: 'client RFC 5746 (compatible), legacy server',
    where: 'client',
    server: 'legacy-2009',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'client-strict',
    label: 'client strict RFC 5746',
    title: 'client strict (refuses servers without RFC 5746)',
    where: 'client',
    server: 'legacy-2009',
    victim: 'strict',
  },
  {
    id: 'guard-deny',
    label: 'guard deny',
    title: 'legacy server behind renego guard --policy deny',
    where: 'guard',
    server: 'legacy-2009',
    victim: 'legacy',
    guard: 'deny',
  },
  {
    id: 'guard-secure-only',
    label: 'guard secure-only',
    title: 'legacy server behind renego guard --policy secure-only',
    where: 'guard',
    server: 'legacy-2009',
    victim: 'legacy',
    guard: 'secure-only',
  },
];

export function victimPolicy(kind: VictimKind): Partial<ClientRenegotiationPolicy> {
  switch (kind) {
    case 'legacy':
      // DANGER: a 2009 client, for the lab.
      return { signal: 'none', allowLegacyServer: true, allowUnsafeLegacyRenegotiation: true };
    case 'rfc5746-compatible':
      return { signal: 'extension', allowLegacyServer: true };
    case 'strict':
      return { signal: 'extension', allowLegacyServer: false };
  }
}
