import { describe, expect, it } from 'vitest';
import { documentNameProblem, familyOf, sniff } from './document-type.ts';

describe('document types', () => {
  it('takes a declared type only when the first bytes bear it out', () => {
    expect(sniff('application/pdf', Buffer.from('%PDF-1.7\n'))).toEqual({ ok: true, type: 'application/pdf' });
    expect(sniff('image/png; charset=binary', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toEqual({ ok: true, type: 'image/png' });
    expect(sniff('application/pdf', Buffer.from('MZ\x90\x00'))).toEqual({ ok: false, problem: 'type-mismatch' });
    expect(sniff('application/x-msdownload', Buffer.from('MZ'))).toEqual({ ok: false, problem: 'unsupported-type' });
    expect(sniff('text/plain', Buffer.alloc(0))).toEqual({ ok: false, problem: 'empty' });
  });

  it('reads UTF-8 Chinese text as text, even cut mid-character, and binary as not', () => {
    const text = Buffer.from('询问笔录：当事人称……', 'utf8');
    expect(familyOf(text)).toBe('text');
    expect(familyOf(text.subarray(0, text.length - 1))).toBe('text');
    expect(familyOf(Buffer.from([0x41, 0x00, 0x42]))).toBeNull();
  });

  it('refuses names with paths, dot-dot or control characters', () => {
    expect(documentNameProblem('询问笔录.pdf')).toBeNull();
    expect(documentNameProblem('../../etc/passwd')).toMatch(/path separator/);
    expect(documentNameProblem('a..pdf')).toMatch(/"\.\."/);
    expect(documentNameProblem('a\u0007.pdf')).toMatch(/control/);
    expect(documentNameProblem('')).toMatch(/1 to 255/);
  });
});
