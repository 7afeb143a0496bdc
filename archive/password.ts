import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * Passwords: a policy (pure) and argon2id hashing (RFC 9106, OWASP's minimum: 19 MiB, two
 * passes), from Node's own crypto, stored as a PHC string so the parameters can be raised
 * later without breaking old hashes.
 */

const argon2Async = promisify(argon2);
const PARAMS = { memory: 19_456, passes: 2, parallelism: 1, tagLength: 32 };

export async function hashPassword(password: string): Promise<string> {
  const nonce = randomBytes(16);
  const hash = await argon2Async('argon2id', { message: password, nonce, ...PARAMS });
  return `$argon2id$v=19$m=${PARAMS.memory},t=${PARAMS.passes},p=${PARAMS.parallelism}$${nonce.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(phc);
  if (!m) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const actual = await argon2Async('argon2id', {
    message: password,
    nonce: Buffer.from(m[4]!, 'base64url'),
    memory: Number(m[1]),
    passes: Number(m[2]),
    parallelism: Number(m[3]),
    tagLength: expected.length,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash of nothing anyone knows: a login for a name that does not exist costs as much as one that does. */
export const DECOY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export type PasswordProblem = 'too-short' | 'too-simple' | 'contains-name' | 'too-long';

/** Why a new password is refused (empty: accepted). Long, mixed, and not the user's own name. */
export function passwordProblems(password: string, userName: string, minLength: number): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  if ([...password].length < minLength) problems.push('too-short');
  if (password.length > 256) problems.push('too-long');
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) problems.push('too-simple');
  if (userName.length >= 3 && password.toLowerCase().includes(userName.toLowerCase())) problems.push('contains-name');
  return problems;
}
