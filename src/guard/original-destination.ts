/**
 * Where a connection redirected by nftables (nft-ruleset.ts) was going: the destination before
 * REDIRECT rewrote it, which conntrack keeps and the kernel hands back through
 * getsockopt(SOL_IP, SO_ORIGINAL_DST) (linux/netfilter_ipv4.h, value 80) or, for IPv6,
 * getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) (linux/netfilter_ipv6/ip6_tables.h, also 80), as
 * mitmproxy and Envoy's original_dst listener filter read it.
 *
 * Node has no getsockopt, so it is called through koffi, an FFI package whose npm releases carry
 * prebuilt binaries for each platform (nothing to compile), loaded only in transparent mode. The
 * lookup is one hash lookup in the kernel's conntrack table per connection (bench/guard-transparent.ts
 * measures it); reading /proc/net/nf_conntrack instead would cost a parse of the whole table each
 * time.
 */
import type { Socket } from 'node:net';
import type { Endpoint } from '../syntax/endpoint.ts';

const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_ORIGINAL_DST = 80;
const IP6T_SO_ORIGINAL_DST = 80;
const ENOENT = 2;
const AF_INET = 2;
const AF_INET6 = 10;
/** sizeof(struct sockaddr_in6), the larger of the two answers. */
const SOCKADDR_BYTES = 28;

export type OriginalDestination =
  | { readonly ok: true; readonly destination: Endpoint }
  /** errno: ENOENT (2) when conntrack has no NAT entry for it, i.e. it was not redirected. */
  | { readonly ok: false; readonly errno: number; readonly why: string };

export type OriginalDestinationLookup = (socket: Socket) => OriginalDestination;

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  2: 'ENOENT: no conntrack entry (not redirected)',
  9: 'EBADF',
  92: 'ENOPROTOOPT: conntrack not available',
};

/** Loads koffi and libc's getsockopt; throws with a readable message where that is impossible. */
export async function loadOriginalDestinationLookup(): Promise<OriginalDestinationLookup> {
  if (process.platform !== 'linux') throw new Error('transparent mode needs Linux (netfilter conntrack)');
  const koffi = (await import('koffi')).default;
  const libc = koffi.load('libc.so.6');
  const getsockopt = libc.func('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)');
  // One answer buffer for the process: Node runs the lookups one at a time.
  const value = Buffer.alloc(SOCKADDR_BYTES);
  const length = Buffer.alloc(4);
  const ask = (fd: number, level: number, optname: number): OriginalDestination => {
    length.writeUInt32LE(SOCKADDR_BYTES);
    if ((getsockopt(fd, level, optname, value, length) as number) === 0) return decodeSockaddr(value);
    const errno = koffi.errno();
    return { ok: false, errno, why: ERRNO_NAMES[errno] ?? `errno ${errno}` };
  };
  return (socket) => {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) return { ok: false, errno: 9, why: 'socket has no descriptor' };
    // IPv4 first, without asking the socket its family: reading socket.localAddress would cost a
    // getsockname and an address formatting per connection (a tenth of the guard's extra work per
    // transparent connection, in profiles). On the dual-stack listener an IPv4 client's socket is
    // IPv4-mapped and its conntrack entry IPv4, which SOL_IP finds; for a real IPv6 connection the
    // IPv4 lookup finds no entry (ENOENT) and the IPv6 one is asked.
    const v4 = ask(fd, SOL_IP, SO_ORIGINAL_DST);
    return v4.ok || v4.errno !== ENOENT ? v4 : ask(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST);
  };
}

/** struct sockaddr_in / sockaddr_in6: family in host order (little-endian here), port and address in network order. */
export function decodeSockaddr(b: Uint8Array): OriginalDestination {
  const family = b[0]! | (b[1]! << 8);
  const port = (b[2]! << 8) | b[3]!;
  if (family === AF_INET) return { ok: true, destination: { host: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port } };
  if (family === AF_INET6) {
    const groups: string[] = [];
    for (let i = 8; i < 24; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return { ok: true, destination: { host: compressIpv6(groups), port } };
  }
  return { ok: false, errno: 97, why: `unexpected address family ${family}` };
}

/** RFC 5952 §4.2: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: readonly string[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}
