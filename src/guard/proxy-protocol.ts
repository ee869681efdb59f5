/**
 * PROXY protocol headers (haproxy's doc/proxy-protocol.txt, versions 1 and 2), sent to the
 * upstream before the first byte of the client, so that the server behind the guard logs and
 * rate-limits the real client address instead of the guard's.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface AddressPair {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
}

/** v2 signature: \r\n\r\n\0\r\nQUIT\n (§2.2). */
const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** Version 2, command PROXY. */
const V2_PROXY = 0x21;
/** AF_INET / AF_INET6 with STREAM. */
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;
/** AF_UNSPEC: the receiver must ignore the (absent) addresses. */
const V2_UNSPEC = 0x00;

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; the header gives them as IPv4. */
function unmap(address: string): string {
  return MAPPED_V4.exec(address)?.[1] ?? address;
}

function family(pair: AddressPair): 4 | 6 | undefined {
  const src = unmap(pair.sourceAddress);
  const dst = unmap(pair.destinationAddress);
  if (isIPv4(src) && isIPv4(dst)) return 4;
  if (isIPv6(src) && isIPv6(dst)) return 6;
  return undefined;
}

/** "PROXY TCP4 src dst sport dport\r\n", or "PROXY UNKNOWN\r\n" when the families differ (§2.1). */
export function proxyV1Header(pair: AddressPair): Uint8Array {
  const f = family(pair);
  const line =
    f === undefined
      ? 'PROXY UNKNOWN\r\n'
      : `PROXY TCP${f} ${unmap(pair.sourceAddress)} ${unmap(pair.destinationAddress)} ${pair.sourcePort} ${pair.destinationPort}\r\n`;
  return new TextEncoder().encode(line);
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address, "::" expanded. */
function ipv6Bytes(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = ipv4Bytes(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

function u16(v: number): number[] {
  return [v >> 8, v & 0xff];
}

/** The binary header (§2.2): signature, version/command, family, length, addresses, ports. */
export function proxyV2Header(pair: AddressPair): Uint8Array {
  const f = family(pair);
  let familyByte = V2_UNSPEC;
  let body: number[] = [];
  if (f === 4) {
    familyByte = V2_TCP4;
    body = [...ipv4Bytes(unmap(pair.sourceAddress)), ...ipv4Bytes(unmap(pair.destinationAddress))];
  } else if (f === 6) {
    familyByte = V2_TCP6;
    body = [...ipv6Bytes(pair.sourceAddress), ...ipv6Bytes(pair.destinationAddress)];
  }
  if (f !== undefined) body.push(...u16(pair.sourcePort), ...u16(pair.destinationPort));
  return Uint8Array.from([...V2_SIGNATURE, V2_PROXY, familyByte, ...u16(body.length), ...body]);
}
