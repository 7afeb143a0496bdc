import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCard, residentId } from './support/generated-pii.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/** Share links and disclosure copies on the real stack (PostgreSQL, Redis, MinIO, ffmpeg). */

const CASE = 'YB-SHARE-2026-007';
const ID = residentId(21);
const CARD = bankCard(8);
const SECRETS = [ID, CARD, '13812345678', '0755-83212345', '深南大道1000号', '501室', '张三丰', '李四光'];

describe('sharing and disclosure', () => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  let evidenceId: string;
  let caller: Awaited<ReturnType<Runtime['identity']['principalOfUser']>> extends infer P ? { principal: P; ip: null; userAgent: string } : never;

  beforeAll(async () => {
    env = await createTestEnv('sharing', { media: { proxyPreset: 'ultrafast', proxyCrf: 35 } });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'test');
    await rt.identity.addUser({ name: 'keeper', role: 'custodian', unitIds: ['SZ'], officerId: null, password: 'Sharing-Test-2026!' }, 'test');
    caller = { principal: await rt.identity.principalOfUser(await rt.identity.user('keeper')), ip: null, userAgent: 'test' };
    await rt.identity.registerRecorder({ serial: 'ZFYS01', officerId: 'O9', unitId: 'SZ' }, 'test');
    const root = join(env.dir, 'rec');
    mkdirSync(root, { recursive: true });
    await makeRecorderFootage(root, { files: 1, seconds: 2, serial: 'ZFYS01', officer: 'O9', audio: false, photo: false, width: 320, height: 180, seed: 7 });
    const subject = `当事人张三丰（身份证号 ${ID}，手机 13812345678，银行卡 ${CARD}），证人：李四光`;
    const result = await importFolder(rt, root, { serial: 'ZFYS01', case: [CASE], subject, place: '广东省深圳市福田区深南大道1000号3栋2单元501室，座机0755-83212345', json: true });
    evidenceId = result.files[0]!.evidenceId!;
    await eventually(async () => ((await rt.catalog.derivativesOf(evidenceId)).some((d) => d.kind === 'proxy') ? true : undefined), 180_000, 'the proxy');
    app = await buildArchiveServer(rt);
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('shares a watermarked copy in view mode, logs each access, refuses download, and answers 410 once revoked', async () => {
    const made = await rt.sharing.create(caller, { caseNumber: CASE, recipient: '律师王某', mode: 'view' });
    const proxy = (await rt.catalog.derivativesOf(evidenceId)).find((d) => d.kind === 'proxy')!;
    expect(made.share.items[0]!.copySha256).not.toBe(proxy.sha256);
    const listed = await app.inject({ method: 'GET', url: `/api/v1/shared/${made.token}` });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items[0].watermarked).toBe(true);
    const play = await app.inject({ method: 'GET', url: `/api/v1/shared/${made.token}/items/${evidenceId}/play` });
    expect(play.statusCode).toBe(200);
    expect(play.rawPayload.length).toBe(made.share.items[0]!.copySize);
    const download = await app.inject({ method: 'GET', url: `/api/v1/shared/${made.token}/items/${evidenceId}/download` });
    expect([download.statusCode, download.json().error.code]).toEqual([403, 'SHARE_VIEW_ONLY']);
    const wrong = await app.inject({ method: 'GET', url: `/api/v1/shared/evs_${'A'.repeat(43)}` });
    expect(wrong.statusCode).toBe(404);
    const events = await rt.ledger.eventsFor({ evidenceId });
    expect(events.find((e) => e.type === 'DERIVED' && e.details.kind === 'share-copy')?.details.recipient).toBe('律师王某');
    expect(events.find((e) => e.type === 'SHARE_CREATED')?.details.tokenSha256).toBe(made.share.tokenSha256);
    expect(JSON.stringify(events)).not.toContain(made.token);
    const log = await rt.access.query(caller.principal, { evidenceId, limit: 50 });
    expect(log.filter((r) => r.principalKind === 'share' && r.principalId === made.share.id).map((r) => r.action).sort()).toEqual(['play', 'view']);
    await rt.access.seal();
    expect((await rt.access.query(caller.principal, { evidenceId, limit: 50 })).filter((r) => r.principalKind === 'share').every((r) => r.sealedSeq !== null)).toBe(true);
    await rt.sharing.revoke(caller, made.share.id, '庭审结束');
    const gone = await app.inject({ method: 'GET', url: `/api/v1/shared/${made.token}` });
    expect([gone.statusCode, gone.json().error.code]).toEqual([410, 'SHARE_GONE']);
    expect(gone.json().error.messageZh).toMatch(/撤销/);

    const pdf = join(env.dir, 'receipt.pdf');
    writeFileSync(pdf, await (await import('../daemon/share-receipt-pdf.adapter.ts')).shareReceiptPdf(await rt.sharing.receipt(await rt.sharing.byId(made.share.id)), { file: rt.config.reports.fontFile, face: rt.config.reports.fontFace }));
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, '');
    for (const s of ['律师王某', made.share.items[0]!.sha256, made.share.items[0]!.copySha256, '证据管理员职权']) expect(text).toContain(s);
  }, 180_000);

  it('ends a share at its expiry with 410, and lets a download share download', async () => {
    const made = await rt.sharing.create(caller, { evidenceIds: [evidenceId], recipient: 'Counsel', mode: 'download', watermark: false, expiresAt: new Date(Date.now() + 1500) });
    expect((await app.inject({ method: 'GET', url: `/api/v1/shared/${made.token}/items/${evidenceId}/download` })).statusCode).toBe(200);
    await eventually(async () => ((await app.inject({ method: 'GET', url: `/api/v1/shared/${made.token}` })).statusCode === 410 ? true : undefined), 5000, 'expiry');
  }, 60_000);

  it('discloses the case with none of the personal data left in any file or file name', async () => {
    const request = await rt.access.request(caller, { caseNumber: CASE, actions: ['export'], purpose: '处罚决定公示' });
    await rt.identity.addUser({ name: 'keeper2', role: 'custodian', unitIds: ['SZ'], officerId: null, password: 'Sharing-Test-2026!' }, 'test');
    const other = { principal: await rt.identity.principalOfUser(await rt.identity.user('keeper2')), ip: null, userAgent: 'test' };
    await rt.access.decide(other, request.id, { approve: true, reason: '同意公示', expiresAt: new Date(Date.now() + 86_400_000) });
    const dir = join(env.dir, 'disclosure');
    const { ExportFolder } = await import('../daemon/export-folder.adapter.ts');
    const result = await rt.disclosure.disclose(caller, { caseNumber: CASE, approvalId: request.id }, ExportFolder.create(dir));
    expect(result.files).toHaveLength(1);
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
    const files = walk(dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const bytes = readFileSync(f).toString('utf8');
      for (const s of SECRETS) {
        expect(bytes, `${f} holds ${s}`).not.toContain(s);
        expect(f).not.toContain(s);
      }
    }
    const meta = JSON.parse(readFileSync(join(dir, 'disclosure.json'), 'utf8'));
    expect(meta.items[0].source.redacted).toBe(false);
    expect(meta.items[0].subject).toContain('张某');
    // The hash the CLI prints and the DISCLOSED events record is the manifest's as written.
    expect(result.manifestSha256).toBe(createHash('sha256').update(readFileSync(join(dir, 'manifest-sha256.txt'))).digest('hex'));
  }, 120_000);
});
