import { idCheckCharacter, luhnValid } from '../../archive/disclosure-fields.ts';

/** Generated records: numbers made with their check digits, so each kind is a real-looking one. */
export function residentId(seed: number): string {
  const first17 = `440304${1970 + (seed % 40)}${String((seed % 12) + 1).padStart(2, '0')}${String((seed % 28) + 1).padStart(2, '0')}${String(100 + (seed % 900)).padStart(3, '0')}`;
  return `${first17}${idCheckCharacter(first17)}`;
}

export function bankCard(seed: number, length = 19): string {
  let body = `62${String(seed).padStart(6, '0')}`;
  while (body.length < length - 1) body += String((seed * 7 + body.length) % 10);
  for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return `${body}${d}`;
  throw new Error('unreachable');
}

