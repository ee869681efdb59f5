/**
 * What `npm run conformance` runs: the server configurations (each a renego preset beside the
 * `openssl s_server` flags that come closest to it) and the tlsfuzzer scripts with their
 * arguments. The scripts are those ../shared/tlsfuzzer/README.md names for renegotiation and
 * for general server hygiene; the generated families (test-fuzzed-*, test-truncating-of-*) are
 * left out: thousands of conversations each, far beyond the few minutes this check may take.
 */
import type { PkiFiles } from '../src/pki/throwaway.ts';

export interface ServerConfig {
  readonly id: string;
  /** Arguments of `renego server` after --host/--port/--cert/--key/--client-ca/--www. */
  readonly renego: readonly string[];
  /** Arguments of `openssl s_server` after -accept/-cert/-key/-www; undefined: no OpenSSL equivalent. */
  readonly openssl: ((pki: PkiFiles) => readonly string[]) | undefined;
  /** How far the OpenSSL reference differs from the preset, shown under the table. */
  readonly note: string;
}

/** Every server serves HTTP; /secure asks for a client certificate by renegotiation (IIS, Apache's per-directory SSLVerifyClient). */
export const PROTECTED_PATH = '/secure';

export const CONFIGS: readonly ServerConfig[] = [
  {
    id: 'rfc5746',
    renego: ['--preset', 'rfc5746'],
    openssl: () => ['-client_renegotiation'],
    note: 's_server -client_renegotiation: RFC 5746, client-initiated renegotiation accepted (without a rate limit)',
  },
  {
    id: 'openssl3-default',
    renego: ['--preset', 'openssl3-default'],
    openssl: () => [],
    note: 's_server defaults: RFC 5746, client-initiated renegotiation refused with a no_renegotiation warning',
  },
  {
    id: 'iis-977377',
    renego: ['--preset', 'iis-977377'],
    openssl: () => ['-no_renegotiation'],
    note: 's_server -no_renegotiation: renegotiation refused both ways, but unlike the preset it still signals RFC 5746',
  },
  {
    id: 'legacy-2009',
    renego: ['--preset', 'legacy-2009'],
    openssl: () => ['-legacy_renegotiation', '-client_renegotiation'],
    note: 's_server -legacy_renegotiation -client_renegotiation: unsafe renegotiation accepted, but unlike the preset it still signals RFC 5746',
  },
  {
    id: 'client-cert',
    renego: ['--preset', 'rfc5746', '--client-cert', 'initial'],
    openssl: (pki) => ['-client_renegotiation', '-verify', '1', '-CAfile', pki.ca],
    note: 'rfc5746 asking for a client certificate in the initial handshake; s_server -client_renegotiation -verify 1',
  },
];

const PRESETS = ['rfc5746', 'openssl3-default', 'iis-977377', 'legacy-2009'] as const;

export interface ScriptPlan {
  /** scripts/NAME.py */
  readonly name: string;
  /**
   * Arguments after -h/-p for one configuration and server; the PKI gives the client certificate
   * files. The server matters only where a script encodes a server's own preference.
   */
  readonly args: (pki: PkiFiles, config: string, server: 'renego' | 'openssl') => readonly string[];
  /** Configuration ids it runs against. */
  readonly configs: readonly string[];
  /** Seconds before the script counts as hung and is killed (default DEFAULT_SCRIPT_TIMEOUT_S). */
  readonly timeoutS?: number;
}

export const DEFAULT_SCRIPT_TIMEOUT_S = 120;

/** `-d`: (EC)DHE with signature_algorithms, as every current client sends; OpenSSL 3 refuses the plain-RSA hellos (SHA-1 at security level 1). */
const DHE = (): readonly string[] => ['-d'];
const NONE = (): readonly string[] => [];
const CLIENT_CERT = (pki: PkiFiles): readonly string[] => ['-d', '-k', pki.clientKey, '-c', pki.clientCert];
/** Presets that refuse client-initiated renegotiation with a no_renegotiation warning. */
const REFUSING = new Set(['openssl3-default', 'iis-977377']);

function script(name: string, args: ScriptPlan['args'], configs: readonly string[] = PRESETS): ScriptPlan {
  return { name, args, configs };
}

export const SCRIPTS: readonly ScriptPlan[] = [
  // Renegotiation and the record layer around it.
  script('test-renegotiation-disabled', DHE),
  // --no-ins-renego: a client without RFC 5746 asking for /secure gets handshake_failure (RFC 5746 §4.4).
  script('test-renegotiation-disabled-client-cert', (pki, config) => [
    ...CLIENT_CERT(pki),
    ...(config === 'rfc5746' ? ['--no-ins-renego'] : []),
  ]),
  script('test-legacy-renegotiation', DHE),
  script('test-renegotiation-changed-clienthello', DHE),
  script('test-interleaved-application-data-in-renegotiation', DHE),
  script('test-interleaved-application-data-and-fragmented-handshakes-in-renegotiation', DHE),
  script('test-hello-request-by-client', DHE),
  // --no-renego: each renegotiation is answered with a no_renegotiation warning and the connection goes on.
  script('test-sig-algs-renegotiation-resumption', (_pki, config) => [
    '-d',
    ...(REFUSING.has(config) ? ['--no-renego'] : []),
  ]),
  script('test-extended-master-secret-extension', DHE),
  script('test-extended-master-secret-extension-with-client-cert', CLIENT_CERT, ['client-cert']),
  script('test-fallback-scsv', DHE),
  // General server hygiene.
  script('test-invalid-client-hello', NONE),
  script('test-invalid-client-hello-w-record-overflow', DHE),
  script('test-large-hello', DHE),
  script('test-large-number-of-extensions', DHE),
  script('test-client-hello-max-size', DHE),
  script('test-record-layer-fragmentation', DHE),
  script('test-ccs', DHE),
  script('test-early-application-data', DHE),
  // The script expects the server to prefer AES-256 (OpenSSL's order); renego prefers AES-128, as
  // Go does, which the script's --swap-ciphers describes.
  script('test-resumption-with-wrong-ciphers', (_pki, _config, server) => [
    '-d',
    ...(server === 'renego' ? ['--swap-ciphers'] : []),
  ]),
  script('test-x25519', NONE),
  script('test-zero-length-data', DHE),
  script('test-message-duplication', NONE),
  script('test-message-skipping', DHE),
  script('test-connection-abort', DHE),
];
