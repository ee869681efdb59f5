/**
 * The defences of the 2009 debate, each a server configuration, a victim client
 * and optionally `renego guard` in front of the server.
 */
import type { ClientRenegotiationPolicy } from '../handshake/client-config.ts';
import type { ServerPresetName } from '../handshake/server-presets.ts';

export type VictimKind = 'legacy' | 'rfc5746-compatible' | 'strict';

export interface Defence {
  id: string;
  title: string;
  where: 'none' | 'server' | 'client' | 'guard';
  server: ServerPresetName;
  victim: VictimKind;
  guard?: 'deny' | 'secure-only';
}

export const DEFENCES: readonly Defence[] = [
  { id: 'none', title: 'legacy server, legacy client', where: 'none', server: 'legacy-2009', victim: 'legacy' },
  { id: 'server-rfc5746', title: 'server RFC 5746', where: 'server', server: 'rfc5746', victim: 'rfc5746-compatible' },
  {
    id: 'server-renegotiation-off',
    title: 'renegotiation off (advisory 977377)',
    where: 'server',
    server: 'iis-977377',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'server-initial-client-cert',
    title: 'client certificate at the initial handshake',
    where: 'server',
    server: 'iis-always-nego-client-cert',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'server-strict',
    title: 'server strict RFC 5746',
    where: 'server',
    server: 'rfc5746-strict',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'client-rfc5746',
    title: 'client RFC 5746 (compatible), legacy server',
    where: 'client',
    server: 'legacy-2009',
    victim: 'rfc5746-compatible',
  },
  {
    id: 'client-strict',
    title: 'client strict (refuses servers without RFC 5746)',
    where: 'client',
    server: 'legacy-2009',
    victim: 'strict',
  },
  {
    id: 'guard-deny',
    title: 'legacy server behind renego guard --policy deny',
    where: 'guard',
    server: 'legacy-2009',
    victim: 'legacy',
    guard: 'deny',
  },
  {
    id: 'guard-secure-only',
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
