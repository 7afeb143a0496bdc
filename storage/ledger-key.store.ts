import { generateKeyPairSync, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
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
    pem = publishOnce(file, pem);
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

/**
 * Puts `content` at `file` unless another process got there first, and returns what the
 * file holds. The key is written and fsynced under a temporary name and then hard-linked
 * into place: link() fails if the name exists, so two processes starting at once never
 * write different keys, and nobody can read a half-written one. (Creating the file itself
 * with O_EXCL left a window where the daemon read the workers' empty new file and failed
 * with OpenSSL "DECODER routines::unsupported"; the chaos suite hit it on a fresh checkout.)
 */
function publishOnce(file: string, content: string): string {
  const temporary = `${file}.${randomUUID()}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(temporary, { force: true });
  }
}
