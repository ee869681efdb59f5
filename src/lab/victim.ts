/** The victim: an honest client that connects where it is told and sends its request. */
import * as crypto from 'node:crypto';
import { connect } from '../adapter/tls-socket.ts';
import type { TrustStore } from '../pki/verify.ts';
import { exchange } from '../adapter/exchange.ts';
import { victimPolicy, type VictimKind } from './defences.ts';

export interface VictimCredentials {
  trust: TrustStore;
  certificateDer: Uint8Array;
  keyPem: string;
}

export interface VictimResult {
  connected: boolean;
  error?: string;
  response?: string;
}

export async function runVictim(
  port: number,
  kind: VictimKind,
  creds: VictimCredentials,
  request: string,
  timeoutMs: number,
): Promise<VictimResult> {
  try {
    const sock = await connect({
      host: '127.0.0.1',
      port,
      serverName: 'localhost',
      trust: creds.trust,
      clientCertificates: [creds.certificateDer],
      clientKey: crypto.createPrivateKey(creds.keyPem),
      handshakeTimeout: timeoutMs,
      renegotiation: victimPolicy(kind),
    });
    sock.on('error', () => undefined);
    const response = await exchange(sock, request, timeoutMs);
    sock.destroy();
    return { connected: true, response };
  } catch (e) {
    return { connected: false, error: (e as Error).message };
  }
}
