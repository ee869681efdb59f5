/**
 * The cost of sealing one full TLS record (16 KiB of AES-128-GCM), in-process and
 * without sockets: renego's sealer, the fewest node:crypto calls any AES-GCM record
 * layer on node:crypto must make (a Cipheriv per record: GCM's IV cannot be changed
 * on a live one), and OpenSSL's own `openssl speed` for the same work. It bounds
 * what the server's bulk rate can reach: node:tls pays OpenSSL's price, we pay
 * node:crypto's.
 */
import { execFile } from 'node:child_process';
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createSealer } from '../src/crypto/record-protection.ts';
import { suiteByName } from '../src/crypto/suites.ts';
import { ContentType, ProtocolVersion } from '../src/wire/enums.ts';

const RECORD = 1 << 14;

export interface CryptoFloor {
  /** µs per 16 KiB record. */
  readonly renegoSealer: number;
  readonly nodeCryptoMinimum: number;
  readonly opensslSpeed: number | undefined;
}

/** µs per call of `fn`: the fastest of 5 batches of about 100 ms each (a floor: the least disturbed batch). */
function timePerCall(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const batches: number[] = [];
  for (let b = 0; b < 5; b++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 100) {
      for (let i = 0; i < 20; i++) fn();
      n += 20;
    }
    batches.push(((performance.now() - t0) * 1000) / n);
  }
  return Math.min(...batches);
}

/** `openssl speed -evp aes-128-gcm -bytes 16384`: µs per 16 KiB, or undefined when it cannot run. */
function opensslSpeed(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const args = ['speed', '-evp', 'aes-128-gcm', '-bytes', String(RECORD), '-seconds', '1'];
    execFile('openssl', args, { timeout: 30_000 }, (error, stdout) => {
      // Last line: "AES-128-GCM    2800116.16k" (thousands of bytes per second).
      const m = /AES-128-GCM\s+([\d.]+)k\s*$/im.exec(stdout);
      resolve(error || !m ? undefined : (RECORD / (Number(m[1]) * 1000)) * 1e6);
    });
  });
}

export async function measureCryptoFloor(): Promise<CryptoFloor> {
  const suite = suiteByName('ECDHE-RSA-AES128-GCM-SHA256')!;
  const key = randomBytes(16);
  const sealer = createSealer(suite, ProtocolVersion['TLSv1.2'], {
    macKey: new Uint8Array(0),
    key,
    iv: randomBytes(4),
  });
  const plaintext = randomBytes(RECORD);
  const renegoSealer = timePerCall(() => {
    sealer.seal(ContentType.application_data, ProtocolVersion['TLSv1.2'], plaintext, 5);
  });
  const keyObject = createSecretKey(key);
  const nonce = randomBytes(12);
  const aad = Buffer.alloc(13);
  const nodeCryptoMinimum = timePerCall(() => {
    const c = createCipheriv('aes-128-gcm', keyObject, nonce);
    c.setAAD(aad);
    c.update(plaintext);
    c.final();
    c.getAuthTag();
  });
  return { renegoSealer, nodeCryptoMinimum, opensslSpeed: await opensslSpeed() };
}
