/**
 * The server's console, as s_server's: `r` sends a HelloRequest on every connection, `R` also
 * asks for a client certificate, `q` stops. The front end reads the lines; RunningServer's
 * renegotiateAll (start.ts) carries out what they ask.
 */

export type ConsoleCommand = 'renegotiate' | 'renegotiate-cert' | 'quit';

/** What the line asks for; unknown lines are ignored (undefined). */
export function consoleCommand(line: string): ConsoleCommand | undefined {
  switch (line.trim()) {
    case 'r':
      return 'renegotiate';
    case 'R':
      return 'renegotiate-cert';
    case 'q':
    case 'Q':
      return 'quit';
    default:
      return undefined;
  }
}
