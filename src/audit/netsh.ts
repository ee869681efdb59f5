/**
 * `netsh http show sslcert`: one block per HTTP.sys binding, `Label : value` lines with varying
 * padding. The key line is `IP:port`, `Hostname:port` or `Central Certificate Store`;
 * `Negotiate Client Certificate : Enabled` asks for the client certificate in the initial
 * handshake, `Disabled` asks for it by server-initiated renegotiation when a path needs it
 * (hosts-and-fleets.md). Output from a localized Windows has other labels: such blocks are
 * reported as unrecognised, never guessed.
 */
import { AuditInputError, linesOf, sourceAt } from './input.ts';
import type { BindingAddress, NetshOutput, ParseNote, SslBinding, Source } from './types.ts';

const KEY_LABELS = ['IP:port', 'Hostname:port', 'Central Certificate Store'] as const;
const FIELD_LABELS = [
  'Certificate Hash',
  'Application ID',
  'Certificate Store Name',
  'Negotiate Client Certificate',
] as const;
type KeyLabel = (typeof KEY_LABELS)[number];
type FieldLabel = (typeof FIELD_LABELS)[number];

function labelled<L extends string>(labels: readonly L[], line: string): { label: L; value: string } | undefined {
  for (const label of labels) {
    const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`^\\s*${escaped}\\s*:\\s*(.*?)\\s*$`, 'i').exec(line);
    if (m) return { label, value: m[1]! };
  }
  return undefined;
}

function address(label: KeyLabel, value: string): BindingAddress | undefined {
  if (label === 'Central Certificate Store') {
    return /^\d{1,5}$/.test(value) ? { type: 'central-store', port: Number(value) } : undefined;
  }
  const m = /^(.+):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  if (label === 'Hostname:port') return { type: 'hostname', hostname: m[1]!, port };
  const ip = m[1]!.replace(/^\[(.*)\]$/, '$1');
  return /^[\d.]+$/.test(ip) || ip.includes(':') ? { type: 'ip', ip, port } : undefined;
}

interface Block {
  readonly start: number;
  readonly lines: { readonly no: number; readonly text: string }[];
}

function blocks(lines: readonly string[]): Block[] {
  const out: Block[] = [];
  let current: Block | undefined;
  lines.forEach((text, i) => {
    if (text.trim() === '' || /^\s*-{3,}\s*$/.test(text) || /SSL Certificate bindings/i.test(text)) {
      current = undefined;
      return;
    }
    if (current === undefined) {
      current = { start: i + 1, lines: [] };
      out.push(current);
    }
    current.lines.push({ no: i + 1, text });
  });
  return out;
}

function readBlock(file: string, block: Block): SslBinding | ParseNote {
  const first = block.lines[0]!;
  const blockSource = sourceAt(file, first.no, first.text);
  const key = labelled(KEY_LABELS, first.text);
  if (key === undefined) {
    return {
      source: blockSource,
      message: `binding fields not recognised (localized netsh output?): "${first.text.trim()}" is not IP:port, Hostname:port or Central Certificate Store; run netsh on an English display language or read these bindings by hand`,
    };
  }
  const where = address(key.label, key.value);
  if (where === undefined) return { source: blockSource, message: `binding address not understood: "${key.value}"` };
  const fields = new Map<FieldLabel, { value: string; source: Source }>();
  for (const l of block.lines.slice(1)) {
    const f = labelled(FIELD_LABELS, l.text);
    if (f && !fields.has(f.label)) fields.set(f.label, { value: f.value, source: sourceAt(file, l.no, l.text) });
  }
  const negotiate = fields.get('Negotiate Client Certificate');
  if (negotiate === undefined) {
    return {
      source: blockSource,
      message: `binding ${key.value}: no "Negotiate Client Certificate" line (localized or truncated output?): cannot tell how it asks for client certificates`,
    };
  }
  const state = negotiate.value.toLowerCase();
  if (state !== 'enabled' && state !== 'disabled') {
    return {
      source: negotiate.source,
      message: `binding ${key.value}: "Negotiate Client Certificate" is "${negotiate.value}", neither Enabled nor Disabled (localized output?)`,
    };
  }
  return {
    address: where,
    key: key.value,
    negotiateClientCert: state,
    certificateHash: fields.get('Certificate Hash')?.value,
    applicationId: fields.get('Application ID')?.value,
    certificateStore: fields.get('Certificate Store Name')?.value,
    source: blockSource,
    negotiateSource: negotiate.source,
  };
}

export function parseNetsh(file: string, text: string): NetshOutput {
  const all = blocks(linesOf(text.replace(/^\uFEFF/, '')));
  const bindings: SslBinding[] = [];
  const unrecognised: ParseNote[] = [];
  for (const b of all) {
    const r = readBlock(file, b);
    if ('address' in r) bindings.push(r);
    else unrecognised.push(r);
  }
  if (bindings.length === 0 && unrecognised.length === 0 && !/SSL Certificate bindings/i.test(text)) {
    throw new AuditInputError('not the output of netsh http show sslcert: no binding blocks');
  }
  return { kind: 'netsh-sslcert', file, bindings, unrecognised };
}

/** The netsh command that asks for this binding's client certificate in the initial handshake. */
export function clientCertNegotiationCommand(b: SslBinding): string {
  const which =
    b.address.type === 'ip'
      ? `ipport=${b.key}`
      : b.address.type === 'hostname'
        ? `hostnameport=${b.key}`
        : `ccs=${b.address.port}`;
  const store = b.address.type === 'hostname' && b.certificateStore ? ` certstorename=${b.certificateStore}` : '';
  const hash = b.certificateHash ? ` certhash=${b.certificateHash}` : '';
  const app = b.applicationId ? ` appid=${b.applicationId}` : '';
  return `netsh http update sslcert ${which}${hash}${app}${store} clientcertnegotiation=enable`;
}
