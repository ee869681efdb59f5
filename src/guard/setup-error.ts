/**
 * What the host lacks for the guard to do what it was asked: an upstream name that does not
 * resolve, an address in use, a group it cannot switch to, no `nft` or no right to run it. The
 * operator fixes it and runs the guard again; the CLI prints the message on one line and exits
 * with the usage code, as for a bad flag.
 */
export class GuardSetupError extends Error {
  override readonly name = 'GuardSetupError';
}
