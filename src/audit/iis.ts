/**
 * IIS applicationHost.config: where client certificates are asked for. `<access sslFlags="Ssl,
 * SslNegotiateCert">` (accepted) or `SslRequireCert` (required), server-wide or per
 * `<location path="Site/sub">`; and the sites' https bindings, to find the HTTP.sys binding
 * serving each path (hosts-and-fleets.md). A small tag scanner, not an XML library: it reads only
 * these elements and reports what it cannot read.
 */
import { AuditInputError, sourceAt } from './input.ts';
import type { IisAccess, IisConfig, IisSiteBinding, ParseNote } from './types.ts';

// Attribute values cannot hold '<' in XML: stopping there keeps a scan from each '<' short.
const TAG = /<(\/?)([A-Za-z][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/g;
const ATTRIBUTE = /([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(ATTRIBUTE)) out.set(m[1]!, m[2] ?? m[3] ?? '');
  return out;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function lineAt(starts: readonly number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function clientCertificate(flags: readonly string[]): IisAccess['clientCertificate'] {
  const lower = flags.map((f) => f.toLowerCase());
  if (lower.includes('sslrequirecert')) return 'require';
  if (lower.includes('sslnegotiatecert')) return 'negotiate';
  return 'none';
}

export function parseIisConfig(file: string, raw: string): IisConfig {
  // Comments become spaces of the same length, so indices and line numbers stay right.
  const text = raw.replace(/^\uFEFF/, '').replace(/<!--[\s\S]*?(-->|$)/g, (c) => c.replace(/[^\n]/g, ' '));
  if (!/<configuration[\s>]/.test(text))
    throw new AuditInputError('not an IIS configuration file: no <configuration> element');
  const starts = lineStarts(text);
  const lines = text.split('\n');
  const source = (index: number) => {
    const n = lineAt(starts, index);
    return sourceAt(file, n, lines[n - 1] ?? '');
  };
  const access: IisAccess[] = [];
  const sites: IisSiteBinding[] = [];
  const notes: ParseNote[] = [];
  const locations: string[] = [];
  let site: string | undefined;
  let depthOk = true;
  for (const m of text.matchAll(TAG)) {
    const [, closing, name, attrText, selfClosing] = m;
    const attrs = attributes(attrText ?? '');
    const at = m.index;
    if (name === 'location') {
      if (closing) locations.pop();
      else if (!selfClosing) locations.push(attrs.get('path') ?? '');
      continue;
    }
    if (name === 'site') {
      if (closing) site = undefined;
      else if (!selfClosing) site = attrs.get('name');
      continue;
    }
    if (name === 'access' && !closing && attrs.has('sslFlags')) {
      const flags = attrs
        .get('sslFlags')!
        .split(/[\s,]+/)
        .filter(Boolean);
      access.push({
        path: locations.at(-1) ?? '',
        flags,
        clientCertificate: clientCertificate(flags),
        source: source(at),
      });
      continue;
    }
    if (name === 'binding' && !closing && site !== undefined && attrs.get('protocol')?.toLowerCase() === 'https') {
      const info = /^(.*):(\d{1,5}):(.*)$/.exec(attrs.get('bindingInformation') ?? '');
      if (!info) {
        notes.push({
          source: source(at),
          message: `https binding of site "${site}" without a readable bindingInformation`,
        });
        continue;
      }
      const flags = Number(attrs.get('sslFlags') ?? '0');
      sites.push({
        site,
        ip: info[1]!,
        port: Number(info[2]),
        hostname: info[3]!,
        sni: (flags & 1) !== 0,
        centralStore: (flags & 2) !== 0,
        source: source(at),
      });
    }
  }
  if (locations.length > 0) depthOk = false;
  if (!depthOk || !/<\/configuration>/.test(text)) {
    notes.push({
      source: sourceAt(file, starts.length, lines.at(-1) ?? ''),
      message: 'the file ends before </configuration>: truncated; paths after this point were not read',
    });
  }
  return { kind: 'iis-config', file, access, sites, notes };
}
