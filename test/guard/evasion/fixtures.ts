/** The throwaway PKI every evasion session's server uses. */
import type { GuardPolicy } from '../../../src/guard/policy.ts';
import { loadCertificate } from '../../../src/pki/credentials.ts';
import { createTestPki } from '../../../src/pki/throwaway.ts';
import type { Fixtures } from './session.ts';

export async function evasionFixtures(): Promise<Fixtures> {
  const pki = await createTestPki({ keyType: 'rsa' });
  return {
    certificate: loadCertificate(pki.server.chainPem, pki.server.keyPem),
  };
}

/** A policy with no per-connection or per-client allowance and no pass-through; each session sets its mode. */
export const BASE_POLICY: GuardPolicy = {
  mode: 'deny',
  maxRenegotiationsPerConnection: 0,
  perClientLimit: undefined,
  allowNonTls: false,
};
