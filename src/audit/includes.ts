/**
 * Include directives followed: each included file's lines are spliced in place of the directive,
 * keeping their own file and line, so every finding names where its value came from. I/O comes
 * in through IncludeFiles (src/tools/audit.ts reads the disk); this module only decides.
 *
 * Syntax and resolution, per product:
 * - Apache `Include` / `IncludeOptional` (httpd core docs): a relative path is taken from
 *   ServerRoot, here the ServerRoot seen so far or else the main file's folder; wildcards in any
 *   part; a folder means every file under it, recursively, in alphabetical order. A missing
 *   file is an error for Include (httpd would not start), nothing for IncludeOptional.
 * - nginx `include` (ngx_core_module): relative to the configuration prefix, here the main file's
 *   folder; wildcards allowed; a missing file without wildcards stops nginx.
 * - OpenSSL `.include` (config(5)): a relative path is taken here from the including file's
 *   folder (OpenSSL itself uses OPENSSL_CONF_INCLUDE or the working directory); a folder means
 *   its `*.cnf` and `*.conf` files, not recursively.
 * - stunnel `include = DIRECTORY` (stunnel(8)): every file of the folder, alphabetically;
 *   relative to the including file's folder.
 * HAProxy has no include: several -f files are named on the command line, and the audit takes
 * them the same way. Bounds: MAX_INCLUDE_DEPTH nesting, MAX_INCLUDED_FILES files, and
 * MAX_INPUT_BYTES for all of them together; a cycle (a file including itself, directly or not)
 * is reported and not followed.
 */
import * as path from 'node:path';
import { AuditInputError, decodeText, MAX_INPUT_BYTES, textLines, lineSource, type SourceLine } from './input.ts';
import type { InputKind, ParseNote } from './types.ts';

export const MAX_INCLUDE_DEPTH = 16;
export const MAX_INCLUDED_FILES = 256;

/** The file system as the expander needs it; paths are absolute. */
export interface IncludeFiles {
  /** The canonical path (symlinks resolved), or undefined when there is no such file. */
  realpath(p: string): Promise<string | undefined>;
  isDirectory(p: string): Promise<boolean>;
  /** Names in a folder (not paths), any order. */
  list(dir: string): Promise<string[]>;
  /** At most `limit` + 1 bytes, so a file over the budget is seen to be. */
  read(p: string, limit: number): Promise<Uint8Array>;
}

export interface Expanded {
  readonly lines: readonly SourceLine[];
  /** The files read, the main one first. */
  readonly files: readonly string[];
  readonly notes: readonly ParseNote[];
}

interface Syntax {
  readonly match: (text: string) => { target: string; optional: boolean } | undefined;
  /** Where a relative path starts: the main file's folder (or ServerRoot) or the including file's. */
  readonly base: 'main' | 'including';
  readonly folder: 'recursive' | 'flat-cnf' | 'flat' | 'not-allowed';
}

const unquote = (s: string) => s.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');

const SYNTAX: Partial<Record<InputKind, Syntax>> = {
  'apache-conf': {
    match: (t) => {
      const m = /^\s*Include(Optional)?\s+("[^"]+"|\S+)\s*$/i.exec(t);
      return m ? { target: unquote(m[2]!), optional: m[1] !== undefined } : undefined;
    },
    base: 'main',
    folder: 'recursive',
  },
  'nginx-conf': {
    match: (t) => {
      const m = /^\s*include\s+("[^"]+"|'[^']+'|[^\s;]+)\s*;\s*(#.*)?$/.exec(t);
      return m ? { target: unquote(m[1]!), optional: false } : undefined;
    },
    base: 'main',
    folder: 'not-allowed',
  },
  'openssl-conf': {
    match: (t) => {
      const m = /^\s*\.include\s*(?:=\s*)?("[^"]+"|\S+)\s*$/.exec(t);
      return m ? { target: unquote(m[1]!), optional: false } : undefined;
    },
    base: 'including',
    folder: 'flat-cnf',
  },
  'stunnel-conf': {
    match: (t) => {
      const m = /^\s*include\s*=\s*(.+?)\s*$/i.exec(t);
      return m ? { target: unquote(m[1]!), optional: false } : undefined;
    },
    base: 'including',
    folder: 'flat',
  },
};

export function followsIncludes(kind: InputKind): boolean {
  return SYNTAX[kind] !== undefined;
}

const WILDCARD = /[*?[]/;

function globRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The paths a pattern names, sorted; wildcards in any segment. */
async function glob(pattern: string, fs: IncludeFiles): Promise<string[]> {
  const root = path.parse(pattern).root;
  const segments = pattern.slice(root.length).split('/').filter(Boolean);
  let current = [root];
  for (const segment of segments) {
    const next: string[] = [];
    for (const dir of current) {
      if (!WILDCARD.test(segment)) {
        next.push(path.join(dir, segment));
        continue;
      }
      if (!(await fs.isDirectory(dir))) continue;
      const re = globRegExp(segment);
      for (const name of (await fs.list(dir)).sort()) {
        if (re.test(name) && !(name.startsWith('.') && !segment.startsWith('.'))) next.push(path.join(dir, name));
      }
    }
    current = next;
  }
  return current;
}

async function filesUnder(dir: string, how: Syntax['folder'], fs: IncludeFiles, depth = 0): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await fs.list(dir)).sort()) {
    if (name.startsWith('.')) continue;
    const p = path.join(dir, name);
    if (await fs.isDirectory(p)) {
      if (how === 'recursive' && depth < MAX_INCLUDE_DEPTH) out.push(...(await filesUnder(p, how, fs, depth + 1)));
    } else if (how !== 'flat-cnf' || /\.(cnf|conf)$/.test(name)) out.push(p);
  }
  return out;
}

export async function expandIncludes(kind: InputKind, file: string, text: string, fs: IncludeFiles): Promise<Expanded> {
  const syntax = SYNTAX[kind];
  const mainLines = textLines(file, text);
  if (syntax === undefined) return { lines: mainLines, files: [file], notes: [] };
  const notes: ParseNote[] = [];
  const files: string[] = [file];
  let budget = MAX_INPUT_BYTES - new TextEncoder().encode(text).length;
  let stopped = false;
  let serverRoot: string | undefined;
  const mainDir = path.dirname(path.resolve(file));

  const splice = async (lines: readonly SourceLine[], chain: readonly string[]): Promise<SourceLine[]> => {
    const out: SourceLine[] = [];
    for (const l of lines) {
      if (kind === 'apache-conf') {
        const root = /^\s*ServerRoot\s+("[^"]+"|\S+)\s*$/i.exec(l.text);
        if (root) serverRoot = path.resolve(mainDir, unquote(root[1]!));
      }
      const inc = syntax.match(l.text);
      if (inc === undefined) {
        out.push(l);
        continue;
      }
      const source = lineSource(l);
      if (stopped) continue;
      if (chain.length > MAX_INCLUDE_DEPTH) {
        notes.push({ source, message: `includes nested deeper than ${MAX_INCLUDE_DEPTH}: not followed` });
        continue;
      }
      const base = syntax.base === 'main' ? (serverRoot ?? mainDir) : path.dirname(path.resolve(l.file));
      const target = path.resolve(base, inc.target);
      const named = WILDCARD.test(inc.target) ? await glob(target, fs) : [target];
      if (named.length === 0 && !WILDCARD.test(inc.target)) named.push(target);
      const expandedTargets: string[] = [];
      for (const p of named) {
        if (await fs.isDirectory(p)) {
          if (syntax.folder === 'not-allowed') {
            notes.push({ source, message: `${inc.target} is a folder: the product reads files only, and stops here` });
          } else expandedTargets.push(...(await filesUnder(p, syntax.folder, fs)));
        } else expandedTargets.push(p);
      }
      if (expandedTargets.length === 0 && !inc.optional && !WILDCARD.test(inc.target)) {
        notes.push({ source, message: `${inc.target}: nothing to include there` });
      }
      for (const p of expandedTargets) {
        const real = await fs.realpath(p);
        if (real === undefined) {
          if (!inc.optional)
            notes.push({ source, message: `${p}: no such file to include (the product would refuse to start)` });
          continue;
        }
        if (chain.includes(real)) {
          notes.push({
            source,
            message: `include cycle: ${[...chain, real].map((c) => path.basename(c)).join(' → ')}; not followed again`,
          });
          continue;
        }
        if (files.length >= MAX_INCLUDED_FILES) {
          notes.push({ source, message: `more than ${MAX_INCLUDED_FILES} included files: the rest is not read` });
          stopped = true;
          break;
        }
        let bytes: Uint8Array;
        try {
          bytes = await fs.read(real, Math.max(budget, 0));
        } catch (e) {
          notes.push({ source, message: `${p}: cannot read (${(e as Error).message})` });
          continue;
        }
        if (bytes.length > budget) {
          notes.push({
            source,
            message: `${p}: the files together pass ${MAX_INPUT_BYTES / 1024 / 1024} MiB; the rest is not read`,
          });
          stopped = true;
          break;
        }
        budget -= bytes.length;
        files.push(p);
        if (bytes.length === 0) continue; // an empty conf.d file is common, and includes nothing
        let included: string;
        try {
          included = decodeText(bytes).text;
        } catch (e) {
          if (!(e instanceof AuditInputError)) throw e;
          notes.push({ source, message: `${p}: ${e.message}` });
          continue;
        }
        out.push(...(await splice(textLines(p, included), [...chain, real])));
      }
    }
    return out;
  };
  const rootReal = (await fs.realpath(path.resolve(file))) ?? path.resolve(file);
  const lines = await splice(mainLines, [rootReal]);
  return { lines, files, notes };
}
