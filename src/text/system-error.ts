/** The one wording of a system error for a person: what the CLI and the guard's start-up errors say. */

/** A system error as a short phrase ("no such file", "permission denied"), else its message. */
export function describeSystemError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const phrases: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EACCES: 'permission denied',
    EISDIR: 'it is a folder',
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this machine',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (temporary)',
  };
  return (code !== undefined ? phrases[code] : undefined) ?? (e as Error).message;
}
