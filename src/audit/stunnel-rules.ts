/**
 * The stunnel judge, per service. Sources: stunnel(8) (`renegotiation = yes | no`, "default:
 * yes (if supported by OpenSSL)", and "disabling TLS renegotiation does not fully mitigate"
 * the CPU DoS; `options = SSL_OPTIONS`: OpenSSL option names without SSL_OP_, a leading `-`
 * clears one, several lines add up); renegotiation-knobs-and-attacks.md §2 for OpenSSL.
 * What was measured on stunnel 5.68 with OpenSSL 3.0 (test/audit/live-proxies.test.ts):
 * - `renegotiation = yes` (the default) adds nothing to OpenSSL: a client's renegotiation gets
 *   OpenSSL 3's warning no_renegotiation unless `options = ALLOW_CLIENT_RENEGOTIATION`.
 * - `renegotiation = no` aborts the connection, "Aborting due to renegotiation request", but only
 *   after OpenSSL has answered the renegotiation ClientHello: the info callback only marks the
 *   connection, and stunnel's transfer loop checks the mark once per poll() wake-up, before its
 *   next SSL_read. With ALLOW_UNSAFE_LEGACY_RENEGOTIATION and ALLOW_CLIENT_RENEGOTIATION, OpenSSL
 *   therefore answers one without RFC 5746 with a ServerHello first (renego scan: CVE-2009-3555).
 *   And a client whose next flight is already there when OpenSSL looks for it completes the
 *   renegotiation inside that one SSL_read, and the next ones too (CVE-2011-1473 limited). On
 *   127.0.0.1, 1 scan of 40 completed one; with stunnel's debug logging slowing its loop, 13 of
 *   30 completed 1 to 4 of 5 in a row; a loaded CI machine's live test once saw 4.
 * - stunnel never starts a renegotiation itself.
 */
import type { Verdict } from '../scan/types.ts';
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { AuditAssumptions } from './judge.ts';
import type { Finding, SettingReport, Source, StackAudit, StunnelConf, StunnelEntry } from './types.ts';

const REFERENCE = 'stunnel(8) (renegotiation, options), SSL_CTX_set_options(3)';
const FLAGS = [
  'ALLOW_UNSAFE_LEGACY_RENEGOTIATION',
  'ALLOW_CLIENT_RENEGOTIATION',
  'NO_RENEGOTIATION',
  'LEGACY_SERVER_CONNECT',
] as const;
type Flag = (typeof FLAGS)[number];

/**
 * The option names stunnel 5.68 accepts on OpenSSL 3.0 (`stunnel -options`); any other name, an
 * `SSL_OP_` prefix included, makes stunnel refuse the file ("Illegal TLS option").
 */
const KNOWN_OPTIONS = new Set(
  (
    'ALL ALLOW_CLIENT_RENEGOTIATION ALLOW_NO_DHE_KEX ALLOW_UNSAFE_LEGACY_RENEGOTIATION CIPHER_SERVER_PREFERENCE ' +
    'CISCO_ANYCONNECT CLEANSE_PLAINTEXT COOKIE_EXCHANGE CRYPTOPRO_TLSEXT_BUG DISABLE_TLSEXT_CA_NAMES ' +
    'DONT_INSERT_EMPTY_FRAGMENTS ENABLE_KTLS ENABLE_MIDDLEBOX_COMPAT EPHEMERAL_RSA IGNORE_UNEXPECTED_EOF ' +
    'LEGACY_SERVER_CONNECT MICROSOFT_BIG_SSLV3_BUFFER MICROSOFT_SESS_ID_BUG MSIE_SSLV2_RSA_PADDING ' +
    'NETSCAPE_CA_DN_BUG NETSCAPE_CHALLENGE_BUG NETSCAPE_DEMO_CIPHER_CHANGE_BUG NETSCAPE_REUSE_CIPHER_CHANGE_BUG ' +
    'NO_ANTI_REPLAY NO_COMPRESSION NO_DTLS_MASK NO_DTLSv1 NO_DTLSv1_2 NO_ENCRYPT_THEN_MAC NO_EXTENDED_MASTER_SECRET ' +
    'NO_QUERY_MTU NO_RENEGOTIATION NO_SESSION_RESUMPTION_ON_RENEGOTIATION NO_SSL_MASK NO_SSLv2 NO_SSLv3 NO_TICKET ' +
    'NO_TLSv1 NO_TLSv1_1 NO_TLSv1_2 NO_TLSv1_3 PKCS1_CHECK_1 PKCS1_CHECK_2 PRIORITIZE_CHACHA SAFARI_ECDHE_ECDSA_BUG ' +
    'SINGLE_DH_USE SINGLE_ECDH_USE SSLEAY_080_CLIENT_DH_BUG SSLREF2_REUSE_CERT_TYPE_BUG TLS_BLOCK_PADDING_BUG ' +
    'TLS_D5_BUG TLSEXT_PADDING TLS_ROLLBACK_BUG'
  ).split(' '),
);

interface Service {
  readonly name: string;
  readonly source: Source | undefined;
  readonly client: boolean;
  readonly renegotiation: { value: string; source: Source | undefined };
  readonly flags: Map<Flag, { set: boolean; source: Source | undefined }>;
}

function serviceOf(
  name: string,
  global: StunnelEntry[],
  own: StunnelEntry[],
  series: AuditAssumptions['openssl'],
): Service {
  const all = [...global, ...own];
  const last = (key: string) => all.filter((e) => e.key === key).at(-1);
  const reneg = last('renegotiation');
  const flags = new Map<Flag, { set: boolean; source: Source | undefined }>(
    FLAGS.map((f) => [f, { set: f === 'LEGACY_SERVER_CONNECT' && series === '1.1.1', source: undefined }]),
  );
  for (const e of all.filter((x) => x.key === 'options')) {
    const set = !e.value.startsWith('-');
    // Names as stunnel takes them: exact, no SSL_OP_ prefix (anything else is refused, below).
    const flag = FLAGS.find((f) => f === e.value.replace(/^-/, ''));
    if (flag) flags.set(flag, { set, source: e.source });
  }
  return {
    name,
    source: own[0]?.source,
    client: /^yes$/i.test(last('client')?.value ?? 'no'),
    renegotiation: { value: reneg?.value.toLowerCase() ?? 'yes', source: reneg?.source },
    flags,
  };
}

export function judgeStunnel(c: StunnelConf, assume: AuditAssumptions): StackAudit {
  const series = assume.openssl;
  const version = series === '3' ? 'OpenSSL 3.0 and later' : 'OpenSSL 1.1.1';
  const assumed = `stunnel 5 on ${version} (renegotiation = yes; client-initiated renegotiation ${series === '3' ? 'refused by OpenSSL unless ALLOW_CLIENT_RENEGOTIATION' : 'accepted by OpenSSL 1.1.1'})`;
  const findings: Finding[] = c.notes.map((n) => finding('unreadable', n.message, [n.source]));
  const global = c.entries.filter((e) => e.section === '');
  for (const inc of global.filter((e) => e.key === 'include')) {
    findings.push(finding('warning', `include = ${inc.value} is not followed: audit those files too`, [inc.source]));
  }
  for (const e of c.entries.filter((x) => x.key === 'options' && !KNOWN_OPTIONS.has(x.value.replace(/^-/, '')))) {
    findings.push(
      finding(
        'unreadable',
        `options = ${e.value}: not an option stunnel knows ("Illegal TLS option"): stunnel refuses this file${/RENEGOTIATION/i.test(e.value) ? '; the names are ALLOW_UNSAFE_LEGACY_RENEGOTIATION, ALLOW_CLIENT_RENEGOTIATION and NO_RENEGOTIATION, without SSL_OP_' : ''}`,
        [e.source],
      ),
    );
  }
  const names = [...new Set(c.entries.filter((e) => e.section !== '').map((e) => e.section))];
  const services = (names.length > 0 ? names : ['(global)']).map((n) =>
    serviceOf(
      n,
      global,
      c.entries.filter((e) => e.section === n),
      series,
    ),
  );
  for (const s of services) {
    if (!/^(yes|no)$/.test(s.renegotiation.value)) {
      findings.push(
        finding(
          'unreadable',
          `renegotiation = ${s.renegotiation.value}: stunnel wants yes or no and refuses this file`,
          [s.renegotiation.source],
        ),
      );
    }
  }
  const settings: SettingReport[] = [];
  const judged = services.map((s) => {
    const on = (f: Flag) => s.flags.get(f)!.set;
    const src = (f: Flag) => s.flags.get(f)!.source;
    const stunnelOff = s.renegotiation.value === 'no';
    const off = on('NO_RENEGOTIATION');
    // OpenSSL processes a client's renegotiation ClientHello before stunnel's loop can abort.
    const reachesOpenssl = !off && (on('ALLOW_CLIENT_RENEGOTIATION') || series === '1.1.1');
    const clientInitiated = reachesOpenssl && !stunnelOff;
    // renegotiation = no over an OpenSSL that answers: a fast client still completes some.
    const raced = reachesOpenssl && stunnelOff;
    const insecure = reachesOpenssl && on('ALLOW_UNSAFE_LEGACY_RENEGOTIATION');
    settings.push({
      name: `[${s.name}] renegotiation`,
      value: s.renegotiation.value,
      source: s.renegotiation.source,
      origin: s.renegotiation.source ? 'set' : `default (${assumed.split(' (')[0]})`,
      does: 'no: stunnel aborts a connection on which a renegotiation starts, at its next look, after OpenSSL has answered (a client fast enough completes renegotiations before it)',
      protects: `no: ${CVE_2011_1473} partly (new connections cost the same, and where OpenSSL accepts client renegotiation a fast client completes some first); not ${CVE_2009_3555} if OpenSSL already answers insecure renegotiations`,
      breaks: 'no: peers that renegotiate (re-keying, client certificates asked for later)',
      reference: REFERENCE,
    });
    for (const f of FLAGS) {
      settings.push({
        name: `[${s.name}] options ${f}`,
        value: on(f) ? 'set' : 'not set',
        source: src(f),
        origin: src(f) ? 'options' : `default in ${version}`,
        does: {
          ALLOW_UNSAFE_LEGACY_RENEGOTIATION: 'OpenSSL renegotiates with peers without RFC 5746',
          ALLOW_CLIENT_RENEGOTIATION: 'OpenSSL 3 accepts renegotiations the client starts',
          NO_RENEGOTIATION: 'OpenSSL refuses every renegotiation with a warning no_renegotiation',
          LEGACY_SERVER_CONNECT: 'as a client (client = yes): connect to servers without RFC 5746',
        }[f],
        protects: {
          ALLOW_UNSAFE_LEGACY_RENEGOTIATION: `nothing: set, it opens ${CVE_2009_3555}`,
          ALLOW_CLIENT_RENEGOTIATION: `nothing: set, it opens ${CVE_2011_1473}`,
          NO_RENEGOTIATION: `${CVE_2009_3555} and ${CVE_2011_1473}, before OpenSSL answers anything`,
          LEGACY_SERVER_CONNECT: `unset: connections to unpatched servers (${CVE_2009_3555})`,
        }[f],
        breaks: {
          ALLOW_UNSAFE_LEGACY_RENEGOTIATION: 'unset: renegotiation with unpatched (pre-2010) peers',
          ALLOW_CLIENT_RENEGOTIATION: 'unset: clients that renegotiate on their own',
          NO_RENEGOTIATION: 'peers that need renegotiation',
          LEGACY_SERVER_CONNECT: 'unset: servers without RFC 5746 cannot be reached',
        }[f],
        reference: REFERENCE,
      });
    }
    return { s, off, stunnelOff, clientInitiated, raced, insecure, src };
  });
  const evidence = settings.map(evidenceOf);
  const insecure = judged.filter((j) => j.insecure);
  const dos = judged.filter((j) => j.clientInitiated);
  const raced = judged.filter((j) => j.raced);
  const allOff = judged.every((j) => j.off || (j.stunnelOff && !j.raced));
  const names2 = (js: typeof judged) => js.map((j) => `[${j.s.name}]`).join(', ');
  const verdicts: Verdict[] = [
    insecure.length > 0
      ? verdict(
          'CVE-2009-3555',
          'yes',
          `${names2(insecure)}: options ALLOW_UNSAFE_LEGACY_RENEGOTIATION (${at(insecure[0]!.src('ALLOW_UNSAFE_LEGACY_RENEGOTIATION'))}) with client renegotiations reaching OpenSSL${insecure.some((j) => j.stunnelOff) ? '; renegotiation = no aborts only after OpenSSL has answered' : ''}`,
          evidence,
        )
      : verdict(
          'CVE-2009-3555',
          'no',
          judged.some((j) => j.s.flags.get('ALLOW_UNSAFE_LEGACY_RENEGOTIATION')!.set)
            ? "ALLOW_UNSAFE_LEGACY_RENEGOTIATION is set but no renegotiation reaches it (stunnel never starts one; OpenSSL refuses the client's); remove it anyway"
            : 'RFC 5746 is enforced by OpenSSL, and stunnel never starts a renegotiation',
          evidence,
        ),
    dos.length > 0
      ? verdict(
          'CVE-2011-1473',
          'yes',
          `${names2(dos)}: client-initiated renegotiation accepted (${series === '1.1.1' ? 'OpenSSL 1.1.1 default' : `options ALLOW_CLIENT_RENEGOTIATION, ${at(dos[0]!.src('ALLOW_CLIENT_RENEGOTIATION'))}`}) and renegotiation = yes`,
          evidence,
        )
      : raced.length > 0
        ? verdict(
            'CVE-2011-1473',
            'limited',
            `${names2(raced)}: renegotiation = no, but OpenSSL accepts client renegotiation (${series === '1.1.1' ? 'OpenSSL 1.1.1 default' : `options ALLOW_CLIENT_RENEGOTIATION, ${at(raced[0]!.src('ALLOW_CLIENT_RENEGOTIATION'))}`}) and stunnel aborts only at its next look: a client that answers fast enough completes renegotiations before it`,
            evidence,
          )
        : verdict(
            'CVE-2011-1473',
            'no',
            'client-initiated renegotiation is refused by OpenSSL, or aborted by renegotiation = no before any can complete',
            evidence,
          ),
    verdict(
      'triple-handshake',
      'no',
      'OpenSSL negotiates the extended master secret (1.1.0+), unless options = NO_EXTENDED_MASTER_SECRET',
    ),
    verdict(
      'no-renegotiation',
      allOff ? 'yes' : dos.length > 0 || raced.length > 0 ? 'no' : 'could-not-test',
      allOff
        ? 'every service has renegotiation = no or NO_RENEGOTIATION'
        : dos.length > 0
          ? 'client-initiated renegotiation is accepted'
          : raced.length > 0
            ? 'client-initiated renegotiation can complete before renegotiation = no aborts'
            : 'refused by the OpenSSL default, not by a setting',
    ),
  ];
  for (const v of verdicts.filter((x) => x.answer === 'yes' && x.id !== 'no-renegotiation')) {
    findings.push(
      finding(
        'vulnerable',
        v.reason,
        v.id === 'CVE-2009-3555'
          ? insecure.map((j) => j.src('ALLOW_UNSAFE_LEGACY_RENEGOTIATION'))
          : dos.map((j) => j.src('ALLOW_CLIENT_RENEGOTIATION')),
      ),
    );
  }
  for (const j of judged.filter((x) => x.s.client && x.s.flags.get('LEGACY_SERVER_CONNECT')!.set)) {
    findings.push(
      finding(
        'costs',
        `[${j.s.name}] is a client with LEGACY_SERVER_CONNECT: it connects to servers without RFC 5746 (no renegotiation with them)`,
        [j.src('LEGACY_SERVER_CONNECT')],
      ),
    );
  }
  const steps: string[] = [];
  if (judged.some((j) => j.s.flags.get('ALLOW_UNSAFE_LEGACY_RENEGOTIATION')!.set))
    steps.push('Remove options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION');
  if (judged.some((j) => j.s.flags.get('ALLOW_CLIENT_RENEGOTIATION')!.set))
    steps.push('Remove options = ALLOW_CLIENT_RENEGOTIATION');
  if (!judged.every((j) => j.off))
    steps.push(
      'Then options = NO_RENEGOTIATION (refused by OpenSSL before it answers anything), or at least renegotiation = no',
    );
  return {
    stack: 'stunnel',
    files: [c.file],
    assumed: [assumed],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: 'no',
      why: 'stunnel never starts a renegotiation and asks for client certificates (verify) in the initial handshake',
      steps,
      leave: ['LEGACY_SERVER_CONNECT: leave unset unless a server a client service must reach lacks RFC 5746'],
    },
  };
}
