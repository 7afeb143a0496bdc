import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseExportService, CaseNotFoundError } from '../archive/case-export.service.ts';
import { importFolder } from '../daemon/cli.ts';
import { ExportDestinationError, ExportFolder } from '../daemon/export-folder.adapter.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { canonicalJson } from '../storage/custody-chain.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

interface ManifestEvent {
  seq: number;
  type: string;
  keyId: string;
  hash: string;
  signature: string;
  [k: string]: unknown;
}

describe('case export: the evidence package for the archive and the legal office', () => {
  let env: TestEnv;
  let rt: Runtime;
  let service: CaseExportService;
  const sources = new Map<string, Buffer>();

  beforeAll(async () => {
    env = await createTestEnv('export');
    rt = await env.runtime();
    service = new CaseExportService({ workstationId: env.config.workstationId, db: rt.db, catalog: rt.catalog, ledger: rt.ledger, objects: rt.objects });
    const media = join(env.dir, 'rec', 'DCIM', '100MEDIA');
    mkdirSync(media, { recursive: true });
    // A recorder's own name, and one no file system should be trusted with.
    for (const name of ['ZFYE01_004512_20261121090000_0001.MP4', 'evil\n..\\x.MP4']) {
      const bytes = randomBytes(120_000);
      writeFileSync(join(media, name), bytes);
      utimesSync(join(media, name), new Date('2026-11-21T01:05:00Z'), new Date('2026-11-21T01:05:00Z'));
      sources.set(createHash('sha256').update(bytes).digest('hex'), bytes);
    }
    await importFolder(rt, join(env.dir, 'rec'), { serial: 'ZFYE01', case: ['YB-EXP-1'], subject: '某药店', place: '某区', json: true });
    // Another case's item stays out of the package.
    const other = join(env.dir, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'ZFYE02_004512_20261121100000_0001.MP4'), randomBytes(1000));
    await importFolder(rt, other, { serial: 'ZFYE02', case: ['YB-EXP-2'], json: true });
  }, 120_000);
  afterAll(async () => env?.cleanup());

  it('writes every original of the case, checkable with sha256sum and with the signatures in the manifest', async () => {
    const dir = join(env.dir, 'package');
    const result = await service.export({ caseNumber: 'YB-EXP-1', by: 'custodian-wang', reason: '归档', withProxies: false }, ExportFolder.create(dir));
    expect(result.items).toHaveLength(2);
    expect(readdirSync(join(dir, 'originals')).every((f) => /^[0-9a-f-]{36}\.mp4$/.test(f))).toBe(true);
    for (const item of result.items) expect(readFileSync(join(dir, item.file))).toEqual(sources.get(item.sha256));
    // The tool a reviewer would use.
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' }).trim().split('\n')).toHaveLength(2);

    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      caseNumber: string;
      copy: boolean;
      signatures: { keys: Array<{ keyId: string; publicKeyPem: string }> };
      items: Array<{ evidenceId: string; caseNumbers: string[]; subject: string; place: string; collector: string; captureStart: string; originalName: string; custody: ManifestEvent[] }>;
    };
    expect(manifest).toMatchObject({ caseNumber: 'YB-EXP-1', copy: true });
    // Names as the catalog shows them: control characters and backslashes escaped.
    expect(manifest.items.map((i) => i.originalName).sort()).toEqual(['ZFYE01_004512_20261121090000_0001.MP4', 'evil\\x0A..\\\\x.MP4']);
    const keys = new Map(manifest.signatures.keys.map((k) => [k.keyId, createPublicKey(k.publicKeyPem)]));
    for (const item of manifest.items) {
      expect(item).toMatchObject({ caseNumbers: ['YB-EXP-1'], subject: '某药店', place: '某区' });
      expect(item.custody.map((e) => e.type)).toEqual(expect.arrayContaining(['ACQUIRED', 'STORED', 'VERIFIED', 'RECORDED', 'RECORDER_CLEARED']));
      for (const event of item.custody) {
        const { hash, signature, ...body } = event;
        expect(createHash('sha256').update(canonicalJson(body)).digest('hex')).toBe(hash);
        expect(verify(null, Buffer.from(hash, 'hex'), keys.get(event.keyId)!, Buffer.from(signature, 'base64'))).toBe(true);
      }
    }

    // Copying is logged: an EXPORTED event per item, by the custodian, and the chain still verifies.
    for (const item of result.items) {
      const exported = (await rt.ledger.eventsFor({ evidenceId: item.evidenceId })).filter((e) => e.type === 'EXPORTED');
      expect(exported).toEqual([expect.objectContaining({ actor: { kind: 'user', id: 'custodian-wang' }, details: expect.objectContaining({ exportId: result.exportId, reason: '归档' }) })]);
    }
    expect((await rt.ledger.verify()).problems).toEqual([]);
  });

  it('refuses a folder that is not empty and a case without evidence, recording nothing', async () => {
    const dir = join(env.dir, 'package');
    expect(() => ExportFolder.create(dir)).toThrow(ExportDestinationError);
    const before = (await rt.ledger.verify()).events;
    await expect(service.export({ caseNumber: 'YB-NONE', by: 'x', reason: null, withProxies: false }, ExportFolder.create(join(env.dir, 'empty')))).rejects.toThrow(CaseNotFoundError);
    expect((await rt.ledger.verify()).events).toBe(before);
  });
});
