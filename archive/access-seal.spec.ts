import { describe, expect, it } from 'vitest';
import type { AccessLogRow } from '../storage/access.repository.ts';
import { itemSeals, sealDigest } from './access-seal.ts';

const row = (id: number, over: Partial<AccessLogRow> = {}): AccessLogRow => ({
  id,
  at: new Date(Date.UTC(2026, 11, 5, 8, 0, id)),
  principalKind: 'user',
  principalId: '00000000-0000-4000-8000-000000000001',
  principalName: 'li.custodian',
  role: 'custodian',
  unitIds: ['GD-SZ'],
  action: 'view',
  evidenceId: 'e1',
  evidenceIds: null,
  caseNumber: null,
  purpose: null,
  approvalId: null,
  ip: '127.0.0.1',
  userAgent: 'test',
  sealedSeq: null,
  ...over,
});

describe('access seals', () => {
  it('gives the same digest whatever the order of the rows, and another when any field changes', () => {
    const rows = [row(1), row(2, { action: 'play' }), row(3, { evidenceId: 'e2' })];
    const digest = sealDigest(rows);
    expect(sealDigest([rows[2]!, rows[0]!, rows[1]!])).toBe(digest);
    expect(sealDigest([rows[0]!, rows[1]!])).not.toBe(digest);
    expect(sealDigest([rows[0]!, rows[1]!, row(3, { evidenceId: 'e2', ip: '10.0.0.9' })])).not.toBe(digest);
    // The seal does not cover its own sequence number.
    expect(sealDigest(rows.map((r) => ({ ...r, sealedSeq: 9 })))).toBe(digest);
  });

  it('seals each item looked at once, with its records and action counts; search pages only in the batch', () => {
    const rows = [
      row(1),
      row(2, { action: 'search', evidenceId: null, evidenceIds: ['e1', 'e2'] }),
      row(3, { action: 'play', principalName: 'wang.supervisor' }),
      row(4, { evidenceId: 'e2', action: 'download' }),
      row(5),
    ];
    const seals = itemSeals(rows);
    expect(seals.map((s) => s.evidenceId)).toEqual(['e1', 'e2']);
    expect(seals[0]).toMatchObject({ recordIds: [1, 3, 5], actions: { view: 2, play: 1 }, principals: ['li.custodian', 'wang.supervisor'] });
    expect(seals[0]!.digest).toBe(sealDigest([rows[0]!, rows[2]!, rows[4]!]));
    expect(seals[1]).toMatchObject({ recordIds: [4], actions: { download: 1 } });
  });
});
