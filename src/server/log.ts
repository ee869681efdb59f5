/**
 * `renego server`'s log: one line per event, `event key=value …` or, with `json`, one JSON object
 * with its time. Alerts are named as `renego client` and `renego scan` print them.
 */
import { suiteName } from '../crypto/suites.ts';
import type { HandshakeSummary } from '../handshake/events.ts';
import { certificateSubject } from '../pki/credentials.ts';
import { alertName, versionName } from '../wire/enums.ts';

/** Logs one event with its fields. */
export type ServerLog = (event: string, fields: Record<string, unknown>) => void;

/** A ServerLog writing lines to `line`, or one that drops every event when there is nowhere to write. */
export function serverLog(line: ((text: string) => void) | undefined, json: boolean): ServerLog {
  if (line === undefined) return () => undefined;
  return (event, fields) => {
    if (json) return line(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    line(`${event} ${pairs.join(' ')}`);
  };
}

/** The fields of a `handshake` or `renegotiation` line. */
export function describeHandshake(s: HandshakeSummary): Record<string, unknown> {
  const peerCert = s.peerCertificates[0];
  return {
    handshake: s.renegotiation,
    version: versionName(s.version),
    cipher: suiteName(s.cipherSuite),
    secureRenegotiation: s.secureRenegotiation,
    extendedMasterSecret: s.extendedMasterSecret,
    resumed: s.resumed,
    clientCertificate: peerCert ? certificateSubject(peerCert) : null,
  };
}

/** Alerts by name, as `renego client` and `renego scan` print them: `fatal alert 48` → `fatal alert unknown_ca`. */
export function withAlertNames(message: string): string {
  return message.replace(/\balert (\d{1,3})\b/g, (_, n: string) => `alert ${alertName(Number(n))}`);
}
