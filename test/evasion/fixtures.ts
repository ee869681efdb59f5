/** The throwaway PKI every evasion session's server uses. */
import { loadCertificate } from '../../src/pki/credentials.ts';
import { createTestPki } from '../../src/pki/throwaway.ts';
import type { Fixtures } from './session.ts';

export async function evasionFixtures(): Promise<Fixtures> {
  const pki = await createTestPki({ keyType: 'rsa' });
  return {
    certificate: loadCertificate(pki.server.chainPem, pki.server.keyPem),
  };
}
