/**
 * Open enums: a named constant for every known value; unknown values stay plain
 * numbers and print as `unknown(0x1234)` (rustls' enums.rs, STYLE.md §3).
 */

type Table = Readonly<Record<string, number>>;

function namer(table: Table, width: number): (v: number) => string {
  const names = new Map<number, string>();
  for (const [k, v] of Object.entries(table)) if (!names.has(v)) names.set(v, k);
  return (v) => names.get(v) ?? `unknown(0x${v.toString(16).padStart(width, '0')})`;
}

/** RFC 5246 §6.2.1 */
export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
  heartbeat: 24,
} as const;
export const contentTypeName = namer(ContentType, 2);

/** RFC 5246 §7.4, RFC 5077 §3.3 */
export const HandshakeType = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
  certificate_status: 22,
} as const;
export const handshakeTypeName = namer(HandshakeType, 2);

export const AlertLevel = { warning: 1, fatal: 2 } as const;
export const alertLevelName = namer(AlertLevel, 2);

/** RFC 5246 §7.2, RFC 7301 §3.2 */
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  decryption_failed: 21,
  record_overflow: 22,
  decompression_failure: 30,
  handshake_failure: 40,
  no_certificate: 41,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  export_restriction: 60,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_canceled: 90,
  no_renegotiation: 100,
  missing_extension: 109,
  unsupported_extension: 110,
  unrecognized_name: 112,
  no_application_protocol: 120,
} as const;
export const alertName = namer(AlertDescription, 2);

/** Wire versions; TLS 1.3 appears only in supported_versions, which we read but never negotiate. */
export const ProtocolVersion = {
  SSLv3: 0x0300,
  TLSv1: 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
  'TLSv1.3': 0x0304,
} as const;
export const versionName = namer(ProtocolVersion, 4);

/** IANA TLS ExtensionType registry */
export const ExtensionType = {
  server_name: 0,
  status_request: 5,
  supported_groups: 10,
  ec_point_formats: 11,
  signature_algorithms: 13,
  application_layer_protocol_negotiation: 16,
  signed_certificate_timestamp: 18,
  encrypt_then_mac: 22,
  extended_master_secret: 23,
  session_ticket: 35,
  supported_versions: 43,
  psk_key_exchange_modes: 45,
  key_share: 51,
  renegotiation_info: 0xff01,
} as const;
export const extensionName = namer(ExtensionType, 4);

/** RFC 8422 §5.1.1, RFC 7919 */
export const NamedGroup = {
  secp256r1: 23,
  secp384r1: 24,
  secp521r1: 25,
  x25519: 29,
  x448: 30,
  ffdhe2048: 256,
  ffdhe3072: 257,
} as const;
export const groupName = namer(NamedGroup, 4);

/** RFC 8446 §4.2.3 (SignatureScheme), which encodes TLS 1.2's {hash, signature} pairs */
export const SignatureScheme = {
  rsa_pkcs1_sha1: 0x0201,
  ecdsa_sha1: 0x0203,
  rsa_pkcs1_sha256: 0x0401,
  ecdsa_secp256r1_sha256: 0x0403,
  rsa_pkcs1_sha384: 0x0501,
  ecdsa_secp384r1_sha384: 0x0503,
  rsa_pkcs1_sha512: 0x0601,
  ecdsa_secp521r1_sha512: 0x0603,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
  ed25519: 0x0807,
  rsa_pss_pss_sha256: 0x0809,
  rsa_pss_pss_sha384: 0x080a,
  rsa_pss_pss_sha512: 0x080b,
} as const;
export const signatureSchemeName = namer(SignatureScheme, 4);

/** RFC 5246 §7.4.4 ClientCertificateType */
export const ClientCertificateType = { rsa_sign: 1, dss_sign: 2, ecdsa_sign: 64 } as const;

/** RFC 8422 §5.4 ECCurveType */
export const ECCurveType = { named_curve: 3 } as const;

/** RFC 8422 §5.1.2 */
export const ECPointFormat = { uncompressed: 0 } as const;

/**
 * RFC 5746 §3.3: the signalling cipher suite value standing in for an empty
 * renegotiation_info extension in an initial ClientHello.
 */
export const TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;
/** RFC 7507: a client retrying with a lower version than it supports (the downgrade signal). */
export const TLS_FALLBACK_SCSV = 0x5600;
