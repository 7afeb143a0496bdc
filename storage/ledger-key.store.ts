import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf, privateKeyFromPem } from './custody-chain.ts';

/** A workstation's Ed25519 signing identity. */
export interface WorkstationKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/**
 * Loads the workstation's signing key from `<keyDir>/<workstationId>.ed25519.pem`, creating
 * it on first start. The private key file is mode 0600: whoever can read it can sign events
 * in this workstation's name.
 */
export function loadOrCreateWorkstationKey(keyDir: string, workstationId: string): WorkstationKey {
  const file = join(keyDir, `${workstationId}.ed25519.pem`);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // wx: two processes starting at once must not each write a different key.
    try {
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      pem = readFileSync(file, 'utf8');
    }
  }
  chmodSync(file, 0o600);
  const privateKey = privateKeyFromPem(pem);
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
