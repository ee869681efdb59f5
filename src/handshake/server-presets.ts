/**
 * Named server configurations that reproduce what the world has run
 * (docs/server-policy.md gives the sources). Each sets the renegotiation policy
 * and when a client certificate is asked for.
 */
import type { ServerConfig, ServerRenegotiationPolicy } from './server-config.ts';
import { SAFE_SERVER_RENEGOTIATION } from './server-config.ts';

export interface ServerPreset {
  description: string;
  renegotiation: ServerRenegotiationPolicy;
  clientCertificate: ServerConfig['clientCertificate'];
}

const NO_LIMIT = { count: 0, windowMs: 0 };

export const SERVER_PRESETS = {
  'legacy-2009': {
    description: 'DANGER: an unpatched 2009 server: no RFC 5746, renegotiation in both directions (CVE-2009-3555)',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, rfc5746: false, allowClientInitiated: true, clientLimit: NO_LIMIT },
    clientCertificate: 'renegotiate',
  },
  'iis-default': {
    description:
      'DANGER: IIS before MS10-049: no RFC 5746, no client-initiated renegotiation, client certificates by server-initiated renegotiation',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, rfc5746: false, allowClientInitiated: false },
    clientCertificate: 'renegotiate',
  },
  'iis-977377': {
    description:
      'IIS with advisory 977377 (DisableRenegoOnServer=1): renegotiation off, so client certificates by renegotiation break',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, enabled: false, rfc5746: false },
    clientCertificate: 'renegotiate',
  },
  'iis-always-nego-client-cert': {
    description:
      'IIS with SSLAlwaysNegoClientCert: the client certificate is asked for in the initial handshake; no RFC 5746',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, rfc5746: false, allowClientInitiated: false },
    clientCertificate: 'initial',
  },
  rfc5746: {
    description:
      'a patched server (RFC 5746): secure renegotiation both ways, rate-limited; legacy clients connect but never renegotiate',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, allowClientInitiated: true },
    clientCertificate: 'renegotiate',
  },
  'rfc5746-strict': {
    description: 'KB980436 strict mode: legacy clients are refused at the initial handshake',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, allowClientInitiated: true, requireSecureClients: true },
    clientCertificate: 'renegotiate',
  },
  'openssl3-default': {
    description: 'OpenSSL 3 defaults: RFC 5746, client-initiated renegotiation refused, server-initiated allowed',
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION },
    clientCertificate: 'none',
  },
} satisfies Record<string, ServerPreset>;

export type ServerPresetName = keyof typeof SERVER_PRESETS;

export function isPresetName(name: string): name is ServerPresetName {
  return Object.hasOwn(SERVER_PRESETS, name);
}
