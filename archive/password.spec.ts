import { describe, expect, it } from 'vitest';
import { DECOY_HASH, hashPassword, passwordProblems, verifyPassword } from './password.ts';

describe('passwords', () => {
  it('hashes with argon2id and verifies only the same password', async () => {
    const hash = await hashPassword('Zhang-San-2026!');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword('Zhang-San-2026!', hash)).toBe(true);
    expect(await verifyPassword('zhang-san-2026!', hash)).toBe(false);
    // Salted: the same password twice gives two hashes.
    expect(await hashPassword('Zhang-San-2026!')).not.toBe(hash);
  });

  it('never matches the decoy, nor a malformed hash', async () => {
    expect(await verifyPassword('', DECOY_HASH)).toBe(false);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
  });

  it('asks for long, mixed passwords that are not the user name', () => {
    expect(passwordProblems('Short1!', 'li', 12)).toEqual(['too-short']);
    expect(passwordProblems('alllowercaseletters', 'li', 12)).toEqual(['too-simple']);
    expect(passwordProblems('Custodian-Li-2026', 'custodian-li', 12)).toEqual(['contains-name']);
    expect(passwordProblems('证据保管-Li-2026x', 'wang', 12)).toEqual([]);
  });
});
