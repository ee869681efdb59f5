/**
 * A registry export (`reg export HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL
 * schannel.reg`, or regedit's File > Export) read into values with their lines. Format: a header
 * (`Windows Registry Editor Version 5.00`, older `REGEDIT4`), `[KEY]` lines, `"Name"=dword:0000000x`,
 * `"Name"=-` for a deleted value, other types (`hex:`, `hex(4):`, `"string"`) kept as written;
 * a trailing `\` continues a line (reference: hosts-and-fleets.md, "Registry export format").
 */
import { AuditInputError, linesOf, sourceAt } from './input.ts';
import type { ParseNote, RegData, RegValue, SchannelExport, Source } from './types.ts';

/** Where SChannel reads its switches (any ControlSetNNN is the same key on another boot). */
const SCHANNEL_KEY =
  /^(HKEY_LOCAL_MACHINE|HKLM)\\SYSTEM\\(CurrentControlSet|ControlSet\d{3})\\Control\\SecurityProviders\\SCHANNEL$/i;

export function isSchannelKey(key: string): boolean {
  return SCHANNEL_KEY.test(key);
}

function isUnderOrAtSchannel(key: string): boolean {
  return key.split('\\').some((_, i, parts) => SCHANNEL_KEY.test(parts.slice(0, i + 1).join('\\')));
}

const VALUE_LINE = /^("(?:[^"\\]|\\.)*"|@)\s*=\s*(.*)$/;

function parseData(raw: string): RegData | undefined {
  if (raw === '-') return { type: 'deleted' };
  const dword = /^dword:([0-9a-fA-F]{8})$/.exec(raw);
  if (dword) return { type: 'dword', value: parseInt(dword[1]!, 16) };
  // REG_DWORD written as four little-endian bytes.
  const hex4 = /^hex\(4\):([0-9a-fA-F]{2}),([0-9a-fA-F]{2}),([0-9a-fA-F]{2}),([0-9a-fA-F]{2})$/.exec(raw);
  if (hex4) {
    const [b0, b1, b2, b3] = hex4.slice(1).map((h) => parseInt(h, 16)) as [number, number, number, number];
    return { type: 'dword', value: (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0 };
  }
  if (/^dword:/i.test(raw)) return { type: 'other', regType: 'malformed dword', raw };
  if (raw.startsWith('"')) return { type: 'other', regType: 'REG_SZ', raw };
  const hex = /^hex(\(([0-9a-fA-F]+)\))?:/.exec(raw);
  if (hex) {
    const names: Record<string, string> = {
      '': 'REG_BINARY',
      '2': 'REG_EXPAND_SZ',
      '4': 'REG_DWORD (bytes)',
      '7': 'REG_MULTI_SZ',
      b: 'REG_QWORD',
    };
    return { type: 'other', regType: names[(hex[2] ?? '').toLowerCase()] ?? `hex(${hex[2]})`, raw };
  }
  return undefined;
}

function unquote(name: string): string {
  return name === '@' ? '(default)' : name.slice(1, -1).replace(/\\(.)/g, '$1');
}

export function parseRegExport(file: string, text: string, encoding: 'utf-16le' | 'utf-8'): SchannelExport {
  const lines = linesOf(text.replace(/^\uFEFF/, ''));
  const first = lines.findIndex((l) => l.trim() !== '');
  const header = first < 0 ? '' : lines[first]!.trim();
  if (header !== 'Windows Registry Editor Version 5.00' && header !== 'REGEDIT4') {
    throw new AuditInputError(
      'not a registry export: the first line is neither "Windows Registry Editor Version 5.00" nor "REGEDIT4"',
    );
  }
  const keys: string[] = [];
  const values: RegValue[] = [];
  const comments: Source[] = [];
  const notes: ParseNote[] = [];
  let key: string | undefined;
  for (let i = first + 1; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.trim();
    // A value may continue over lines ending in a backslash (long hex data); the pieces are
    // joined once, so a long value costs linear time.
    if (line.endsWith('\\') && !line.startsWith('[')) {
      const parts = [line.slice(0, -1)];
      let last = line;
      while (last.endsWith('\\')) {
        if (i + 1 >= lines.length) {
          notes.push({
            source: sourceAt(file, lineNo, line.slice(0, 80)),
            message: 'the file ends inside a continued value: truncated export',
          });
          break;
        }
        last = lines[++i]!.trim();
        parts.push(last.endsWith('\\') ? last.slice(0, -1) : last);
      }
      line = parts.join('');
    }
    if (line === '') continue;
    if (line.startsWith(';')) {
      comments.push(sourceAt(file, lineNo, line));
      continue;
    }
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) {
        notes.push({
          source: sourceAt(file, lineNo, line),
          message: 'unterminated key line: truncated or damaged export',
        });
        key = undefined;
        continue;
      }
      const name = line.slice(1, -1);
      if (name.startsWith('-')) {
        key = undefined; // a key deletion: nothing in it is set
        continue;
      }
      key = name;
      keys.push(name);
      continue;
    }
    const m = VALUE_LINE.exec(line);
    const data = m ? parseData(m[2]!.trim()) : undefined;
    if (m === null || data === undefined) {
      notes.push({
        source: sourceAt(file, lineNo, line),
        message: 'not a value line of a registry export: damaged or truncated',
      });
      continue;
    }
    if (key === undefined) {
      notes.push({ source: sourceAt(file, lineNo, line), message: 'a value outside any key' });
      continue;
    }
    values.push({ key, name: unquote(m[1]!), data, source: sourceAt(file, lineNo, line) });
  }
  if (!keys.some(isUnderOrAtSchannel)) {
    notes.push({
      source: sourceAt(file, first + 1, header),
      message: `no SCHANNEL key in the export (keys: ${keys.slice(0, 3).join(', ') || 'none'}): export HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL`,
    });
  }
  return {
    kind: 'schannel-reg',
    file,
    format: header as SchannelExport['format'],
    encoding,
    keys,
    values,
    comments,
    notes,
  };
}
