/**
 * The client's certificate and key-exchange phase (RFC 5246 §7.4.2–§7.4.8): the
 * server's Certificate, ServerKeyExchange, CertificateRequest and
 * ServerHelloDone, then our flight up to our Finished. The triple-handshake
 * check on a renegotiation's certificate is `checkIdentityChange`.
 */
import type * as crypto from 'node:crypto';
import {
  dheKeyShare,
  ecdheKeyShare,
  encodeDheClientKeyExchange,
  encodeEcdheClientKeyExchange,
  parseServerKeyExchange,
  rsaKeyTransport,
} from '../crypto/key-exchange.ts';
import { extendedMasterSecret, masterSecret } from '../crypto/prf.ts';
import { certificatePublicKey } from '../crypto/certificate-key.ts';
import { chooseScheme, keyTypeOf, sign } from '../crypto/signatures.ts';
import { systemTrustStore } from '../pki/verify.ts';
import { concat } from '../wire/codec.ts';
import { HandshakeType } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import type { CertificateRequest, HandshakeMessage } from '../wire/handshake.ts';
import type { ClientConfig } from './client-config.ts';
import type {
  ExpectCertificate,
  ExpectCertificateRequestOrDone,
  ExpectServerHelloDone,
  ExpectServerKeyExchange,
  ExpectTicketOrCcs,
  ServerCertificate,
} from './client-states.ts';
import { expectMessage, sendFinished, sendMessage } from './common.ts';
import type { HandshakeContext, HandshakeInput } from './context.ts';
import { constantTimeEqual, deriveProtectors } from './keys.ts';
import { VerifiedChain, VerifiedServerKeyExchange } from './proofs.ts';

// --- Certificate -------------------------------------------------------------------

export function onCertificate(
  cx: HandshakeContext,
  config: ClientConfig,
  state: ExpectCertificate,
  input: HandshakeInput,
): ExpectServerKeyExchange | ExpectCertificateRequestOrDone {
  const { msg, raw } = expectMessage(input, HandshakeType.certificate, state.name);
  const { offer, choice } = state;
  offer.transcript.append(raw);
  if (msg.certificates.length === 0) throw new TlsError('BadCertificate', 'server sent no certificate');
  const server: ServerCertificate = config.insecure
    ? { kind: 'unverified', certificates: msg.certificates, key: certificatePublicKey(msg.certificates[0]!) }
    : {
        kind: 'verified',
        chain: VerifiedChain.verify(msg.certificates, config.trust ?? systemTrustStore(), config.serverName),
      };
  checkIdentityChange(cx, config, state, msg.certificates);
  const keyType = keyTypeOf(serverKey(server));
  if ((choice.suite.auth === 'RSA' && keyType !== 'rsa') || (choice.suite.auth === 'ECDSA' && keyType !== 'ec')) {
    throw new TlsError('BadCertificate', `a ${keyType} certificate for a ${choice.suite.auth} suite`);
  }
  if (choice.suite.kx === 'RSA') {
    return { name: 'ExpectCertificateRequestOrServerHelloDone', offer, choice, server, kx: undefined };
  }
  return { name: 'ExpectServerKeyExchange', offer, choice, server };
}

function serverKey(server: ServerCertificate): crypto.KeyObject {
  return server.kind === 'verified' ? server.chain.leafKey : server.key;
}

/**
 * Triple-handshake defence (RFC 7627 §1; CVE-2014-1771 was SChannel failing to
 * do this): a renegotiation must not switch to another server certificate
 * unless both handshakes bound their master secrets to the transcript.
 */
function checkIdentityChange(
  cx: HandshakeContext,
  config: ClientConfig,
  state: ExpectCertificate,
  chain: readonly Uint8Array[],
): void {
  if (!state.offer.renegotiation) return;
  const before = cx.security.peerCertificates[0];
  if (!before || constantTimeEqual(before, chain[0]!)) return;
  const rule = config.renegotiation.serverCertificateChange;
  if (rule === 'allow') return;
  if (rule === 'allow-with-ems' && cx.security.extendedMasterSecret && state.choice.ems) return;
  throw new TlsError('ServerIdentityChangedOnRenegotiation', 'server certificate changed across renegotiation');
}

// --- ServerKeyExchange -------------------------------------------------------------

export function onServerKeyExchange(
  config: ClientConfig,
  state: ExpectServerKeyExchange,
  input: HandshakeInput,
): ExpectCertificateRequestOrDone {
  const { msg, raw } = expectMessage(input, HandshakeType.server_key_exchange, state.name);
  const { offer, choice, server } = state;
  offer.transcript.append(raw);
  const kind = choice.suite.kx === 'ECDHE' ? 'ECDHE' : 'DHE';
  const params = parseServerKeyExchange(msg.body, kind, choice.version);
  if (kind === 'ECDHE' && !config.groups.includes(params.group!)) {
    throw new TlsError('IllegalParameter', 'server chose a group we did not offer');
  }
  // RFC 5246 §7.4.3: signed over client_random + server_random + params.
  const signed = concat(offer.random, choice.random, params.params);
  const kx = VerifiedServerKeyExchange.verify(
    choice.version,
    serverKey(server),
    params,
    signed,
    config.signatureSchemes,
  );
  return { name: 'ExpectCertificateRequestOrServerHelloDone', offer, choice, server, kx };
}

// --- CertificateRequest, ServerHelloDone ---------------------------------------------

/** CertificateRequest is optional (RFC 5246 §7.4.4): anything else is read as ServerHelloDone. */
export function onCertificateRequestOrDone(
  cx: HandshakeContext,
  config: ClientConfig,
  state: ExpectCertificateRequestOrDone,
  input: HandshakeInput,
): ExpectServerHelloDone | ExpectTicketOrCcs {
  const { offer, choice, server, kx } = state;
  if (input.kind === 'message' && input.msg.type === HandshakeType.certificate_request) {
    offer.transcript.append(input.raw);
    const certificateRequest = input.msg as CertificateRequest;
    return { name: 'ExpectServerHelloDone', offer, choice, server, kx, certificateRequest };
  }
  const done: ExpectServerHelloDone = {
    name: 'ExpectServerHelloDone',
    offer,
    choice,
    server,
    kx,
    certificateRequest: undefined,
  };
  return onServerHelloDone(cx, config, done, input);
}

export function onServerHelloDone(
  cx: HandshakeContext,
  config: ClientConfig,
  state: ExpectServerHelloDone,
  input: HandshakeInput,
): ExpectTicketOrCcs {
  const { raw } = expectMessage(input, HandshakeType.server_hello_done, state.name);
  state.offer.transcript.append(raw);
  return sendClientFlight(cx, config, state);
}

// --- our flight ----------------------------------------------------------------------

/** Certificate?, ClientKeyExchange, CertificateVerify?, ChangeCipherSpec, Finished (RFC 5246 §7.3). */
function sendClientFlight(cx: HandshakeContext, config: ClientConfig, state: ExpectServerHelloDone): ExpectTicketOrCcs {
  const { offer, choice, server, kx } = state;
  const transcript = offer.transcript;
  const sendMsg = (m: HandshakeMessage): void => sendMessage(cx, transcript, m);

  const req = state.certificateRequest;
  const ours =
    req && config.clientCertificates && config.clientKey
      ? { chain: config.clientCertificates, key: config.clientKey }
      : undefined;
  // RFC 5246 §7.4.6: answer a request with our chain, or an empty list (TLS 1.0+).
  if (req) sendMsg({ type: HandshakeType.certificate, certificates: ours?.chain ?? [] });

  let premaster: Uint8Array;
  let body: Uint8Array;
  if (kx === undefined) {
    ({ premaster, body } = rsaKeyTransport(serverKey(server), offer.version));
  } else if (kx.params.kind === 'ECDHE') {
    const share = ecdheKeyShare(kx.params.group!);
    premaster = share.agree(kx.params.publicKey);
    body = encodeEcdheClientKeyExchange(share.publicKey);
  } else {
    const share = dheKeyShare(kx.params.dhP!, kx.params.dhG!, config.minDhBits);
    premaster = share.agree(kx.params.publicKey);
    body = encodeDheClientKeyExchange(share.publicKey);
  }
  sendMsg({ type: HandshakeType.client_key_exchange, body });

  const { version, suite } = choice;
  // RFC 7627 §4: the session hash runs through ClientKeyExchange.
  const master = choice.ems
    ? extendedMasterSecret(version, suite.prfHash, premaster, transcript.hash(version, suite.prfHash))
    : masterSecret(version, suite.prfHash, premaster, offer.random, choice.random);
  premaster.fill(0);

  if (req && ours) {
    const scheme = chooseScheme(version, ours.key, req.signatureAlgorithms);
    const signature = sign(version, ours.key, scheme, transcript.messages());
    sendMsg({ type: HandshakeType.certificate_verify, scheme, signature });
  }

  const keys = deriveProtectors(suite, version, master, offer.random, choice.random);
  cx.setPendingReader(keys.serverWrite);
  cx.security.clientVerifyData = sendFinished(
    cx,
    { version, suite, masterSecret: master, transcript },
    keys.clientWrite,
    'client finished',
  );
  return {
    name: 'ExpectNewSessionTicketOrChangeCipherSpec',
    keyed: {
      offer,
      choice,
      server,
      masterSecret: master,
      clientAuth: { request: req, certificateSent: ours !== undefined },
      finish: { kind: 'full' },
    },
  };
}
