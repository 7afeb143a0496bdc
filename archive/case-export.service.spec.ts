import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import { evidenceRow } from '../workers/media.fakes.ts';
import { CaseExportService, ExportIntegrityError, safeExtension, type CaseExportDeps, type ExportTarget } from './case-export.service.ts';

function deps(storedBytes: string, appended: unknown[]): CaseExportDeps {
  const forbidden = () => {
    throw new Error('not expected in this test');
  };
  return {
    workstationId: 'ws-1',
    db: { transaction: (work) => work({ query: forbidden as never }) },
    catalog: { search: async () => [evidenceRow({ size: 5 })], derivativesOf: async () => [] },
    ledger: {
      eventsFor: async () => [],
      publicKeys: async () => [],
      append: async (_tx, input) => {
        appended.push(input);
        return { seq: appended.length } as CustodyEvent;
      },
      mirror: async () => undefined,
    },
    objects: { read: async () => Readable.from([Buffer.from(storedBytes)]) },
  };
}

function target(): ExportTarget & { files: Map<string, string> } {
  const files = new Map<string, string>();
  return {
    root: '/export',
    files,
    async writeStream(rel, source) {
      const chunks: Buffer[] = [];
      for await (const c of source) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      files.set(rel, bytes.toString());
      const { createHash } = await import('node:crypto');
      return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
    },
    async writeText(rel, text) {
      files.set(rel, text);
    },
  };
}

describe('CaseExportService', () => {
  it('stops at bytes from storage that are not the evidence, and records no export', async () => {
    const appended: unknown[] = [];
    const out = target();
    await expect(new CaseExportService(deps('tampered', appended)).export({ caseNumber: 'YB-1', by: 'u', reason: null, withProxies: false }, out)).rejects.toThrow(ExportIntegrityError);
    expect(appended).toEqual([]);
    expect(out.files.has('manifest.json')).toBe(false);
  });
});

describe('safeExtension', () => {
  it.each([
    ['ZFY_0001.MP4', '.mp4'],
    ['photo.jpeg', '.jpeg'],
    ['evil\n..\\x.MP4', '.mp4'],
    ['../../etc/passwd', ''],
    ['noext', ''],
    ['a.tar.gz/../..', ''],
  ])('%j → %j', (name, ext) => expect(safeExtension(name)).toBe(ext));
});
