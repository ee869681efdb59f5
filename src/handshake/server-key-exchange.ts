/**
 * The server's certificate and key-exchange phase of a full handshake (RFC 5246
 * §7.4.2–§7.4.8): our Certificate, ServerKeyExchange, CertificateRequest and
 * ServerHelloDone, then the client's Certificate, ClientKeyExchange and
 * CertificateVerify, up to the master secret.
 */
import {
  dheServerShare,
  ecdheKeyShare,
  encodeDheParams,
  encodeEcdheParams,
  encodeServerKeyExchange,
  parseClientKeyExchange,
  rsaDecryptPremaster,
  type KeyShare,
} from '../crypto/key-exchange.ts';
import { extendedMasterSecret, masterSecret } from '../crypto/prf.ts';
import { chooseScheme, sign } from '../crypto/signatures.ts';
import { concat } from '../wire/codec.ts';
import { ClientCertificateType, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion } from '../wire/enums.ts';
import * as ext from '../wire/extensions.ts';
import { TlsError } from '../wire/errors.ts';
import type { ClientHello } from '../wire/handshake.ts';
import { expectMessage, sendMessage } from './common.ts';
import type { HandshakeContext, HandshakeInput } from './context.ts';
import { deriveProtectors } from './keys.ts';
import { VerifiedCertificateVerify, VerifiedChain } from './proofs.ts';
import type { ServerConfig } from './server-config.ts';
import type {
  CertificateRequested,
  EphemeralShare,
  ExpectCcs,
  ExpectCertificate,
  ExpectCertificateVerify,
  ExpectClientKeyExchange,
  ServerNegotiated,
} from './server-states.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];

// --- our flight ------------------------------------------------------------------------

/** Certificate, ServerKeyExchange?, CertificateRequest?, ServerHelloDone, after our ServerHello (RFC 5246 §7.3). */
export function sendServerFlight(
  cx: HandshakeContext,
  config: ServerConfig,
  hs: ServerNegotiated,
  requestClientCertificate: boolean,
): ExpectCertificate | ExpectClientKeyExchange {
  sendMessage(cx, hs.transcript, { type: HandshakeType.certificate, certificates: hs.cert.chain });
  let share: EphemeralShare | undefined;
  if (hs.suite.kx !== 'RSA') {
    const kx = serverKeyExchange(config, hs, hs.suite.kx);
    share = { kind: hs.suite.kx, key: kx.share };
    sendMessage(cx, hs.transcript, { type: HandshakeType.server_key_exchange, body: kx.body });
  }
  let request: CertificateRequested;
  if (requestClientCertificate) {
    // RFC 5246 §7.4.4: the DER-encoded DistinguishedNames of acceptable CAs.
    request = {
      certificateAuthorities: (config.clientTrust?.roots ?? []).map((c) =>
        subjectFromCertificateDer(new Uint8Array(c.raw)),
      ),
    };
    sendMessage(cx, hs.transcript, {
      type: HandshakeType.certificate_request,
      certificateTypes: [ClientCertificateType.rsa_sign, ClientCertificateType.ecdsa_sign],
      signatureAlgorithms: hs.version >= TLS12 ? config.signatureSchemes : null,
      certificateAuthorities: request.certificateAuthorities,
    });
  }
  sendMessage(cx, hs.transcript, { type: HandshakeType.server_hello_done });
  if (request) return { name: 'ExpectCertificate', hs, share, request };
  return { name: 'ExpectClientKeyExchange', hs, share, request, chain: undefined };
}

/** Our ECDHE or DHE share, signed with the certificate's key over both randoms (RFC 5246 §7.4.3). */
function serverKeyExchange(
  config: ServerConfig,
  hs: ServerNegotiated,
  kind: EphemeralShare['kind'],
): { share: KeyShare; body: Uint8Array } {
  let params: Uint8Array;
  let share: KeyShare;
  if (kind === 'ECDHE') {
    const groups = clientGroups(hs.hello);
    const group = config.groups.find((g) => groups.includes(g))!;
    share = ecdheKeyShare(group);
    params = encodeEcdheParams(group, share.publicKey);
  } else {
    const dhe = dheServerShare();
    share = dhe;
    params = encodeDheParams(dhe.p, dhe.g, dhe.publicKey);
  }
  const scheme = chooseScheme(hs.version, hs.cert.key, clientSchemes(hs.hello));
  const signature = sign(hs.version, hs.cert.key, scheme, concat(hs.hello.random, hs.serverRandom, params));
  return { share, body: encodeServerKeyExchange(params, scheme, signature) };
}

/** The client's supported_groups (RFC 8422 §5.1.1). */
export function clientGroups(hello: ClientHello): readonly number[] {
  const e = ext.findExtension(hello.extensions, ExtensionType.supported_groups);
  // RFC 8422 §4: without the extension, any curve we support; P-256 is what every client has.
  return e ? ext.parseU16List(e.data, 'supported_groups') : [NamedGroup.secp256r1];
}

function clientSchemes(hello: ClientHello): readonly number[] | null {
  const e = ext.findExtension(hello.extensions, ExtensionType.signature_algorithms);
  return e ? ext.parseU16List(e.data, 'signature_algorithms') : null;
}

/** The DER of tbsCertificate.subject (RFC 5280 §4.1): node exposes no DER for names, so a minimal DER walk. */
function subjectFromCertificateDer(der: Uint8Array): Uint8Array {
  const tlv = (buf: Uint8Array, at: number): { start: number; end: number; body: number } => {
    let len = buf[at + 1]!;
    let body = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
      body = at + 2 + n;
    }
    return { start: at, end: body + len, body };
  };
  const certificate = tlv(der, 0);
  const tbs = tlv(der, certificate.body);
  let at = tbs.body;
  if (der[at] === 0xa0) at = tlv(der, at).end; // [0] version
  for (let field = 0; field < 4; field++) at = tlv(der, at).end; // serial, signature, issuer, validity
  const subject = tlv(der, at);
  return der.slice(subject.start, subject.end);
}

// --- the client's flight -----------------------------------------------------------------

export function onCertificate(
  config: ServerConfig,
  state: ExpectCertificate,
  input: HandshakeInput,
): ExpectClientKeyExchange {
  const { msg, raw } = expectMessage(input, HandshakeType.certificate, state.name);
  state.hs.transcript.append(raw);
  const certificates = msg.certificates;
  let chain: VerifiedChain | undefined;
  if (certificates.length === 0) {
    // RFC 5246 §7.4.6: an empty list; we decide whether that is acceptable.
    if (config.clientCertificateRequired) throw new TlsError('HandshakeFailure', 'client sent no certificate');
  } else {
    if (!config.clientTrust)
      throw new TlsError('InternalError', 'client certificates requested without a CA to verify them');
    chain = VerifiedChain.verify(certificates, config.clientTrust, undefined);
  }
  return { name: 'ExpectClientKeyExchange', hs: state.hs, share: state.share, request: state.request, chain };
}

export function onClientKeyExchange(
  cx: HandshakeContext,
  state: ExpectClientKeyExchange,
  input: HandshakeInput,
): ExpectCertificateVerify | ExpectCcs {
  const { msg, raw } = expectMessage(input, HandshakeType.client_key_exchange, state.name);
  const { hs, request, chain } = state;
  hs.transcript.append(raw);
  const body = msg.body;
  let premaster: Uint8Array;
  const share = state.share;
  if (share === undefined) {
    premaster = rsaDecryptPremaster(hs.cert.key, body, hs.hello.version);
  } else {
    premaster = share.key.agree(parseClientKeyExchange(body, share.kind));
  }
  const prfHash = hs.suite.prfHash;
  const master = hs.ems
    ? extendedMasterSecret(hs.version, prfHash, premaster, hs.transcript.hash(hs.version, prfHash))
    : masterSecret(hs.version, prfHash, premaster, hs.hello.random, hs.serverRandom);
  premaster.fill(0);
  const keys = deriveProtectors(hs.suite, hs.version, master, hs.hello.random, hs.serverRandom, 'server');
  cx.setPendingReader(keys.clientWrite);
  if (chain) {
    return { name: 'ExpectCertificateVerify', hs, masterSecret: master, request, chain, writer: keys.serverWrite };
  }
  return {
    name: 'ExpectChangeCipherSpec',
    keyed: {
      hs,
      masterSecret: master,
      client: { kind: 'anonymous' },
      request,
      finish: { kind: 'full', writer: keys.serverWrite },
    },
  };
}

export function onCertificateVerify(
  config: ServerConfig,
  state: ExpectCertificateVerify,
  input: HandshakeInput,
): ExpectCcs {
  const { msg, raw } = expectMessage(input, HandshakeType.certificate_verify, state.name);
  const hs = state.hs;
  // RFC 5246 §7.4.8: the signature covers every handshake message before this one.
  const proof = VerifiedCertificateVerify.verify(
    hs.version,
    state.chain,
    msg.scheme,
    hs.transcript.messages(),
    msg.signature,
    config.signatureSchemes,
  );
  hs.transcript.append(raw);
  return {
    name: 'ExpectChangeCipherSpec',
    keyed: {
      hs,
      masterSecret: state.masterSecret,
      client: { kind: 'verified', proof },
      request: state.request,
      finish: { kind: 'full', writer: state.writer },
    },
  };
}
