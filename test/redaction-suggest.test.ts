import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou } from '../archive/face-track.ts';
import { boxAt } from '../archive/redaction-project.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { makeFaceFootage, FACE_H, FACE_W, type FaceFootage } from './support/face-footage.ts';
import { boxRegions, meanDifference, rgbFrame, storedDerivative, within } from './support/frames.ts';
import { createTestEnv, eventually, evidock as run, type TestEnv } from './support/test-env.ts';

/**
 * Face suggestions on the real stack: a recording with a face (cut from face-api's demo photo)
 * ingested, `evidock redact suggest --wait` runs the job (ffmpeg sampling the original from
 * MinIO, the detector in its own process), the suggested track is accepted into a project
 * version, and the render job's copy is decoded: the face region blurred, the rest not. A
 * recording cut off mid-write gets suggestions for the part that decodes, and says so.
 */

const SIZE = { w: FACE_W, h: FACE_H };
const SECONDS = 5;

describe('face suggestions: a real run, accepted into a version, rendered', () => {
  let env: TestEnv;
  let rt: Runtime;
  let footage: FaceFootage;
  let video: EvidenceRow;
  let truncated: EvidenceRow;
  let proxy: DerivativeRow;
  const evidock = async (args: string[]) => {
    const r = await run(args, env.childEnv);
    return { ...r, output: `${r.stdout}${r.stderr}` };
  };

  beforeAll(async () => {
    env = await createTestEnv('suggest', { media: { proxyPreset: 'ultrafast', proxyCrf: 23, transcodeConcurrency: 1 }, suggestions: { framesPerSecond: 2, model: 'ssd' } });
    rt = await env.runtime();
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'test');
    await rt.identity.addUser({ name: 'custodian-zhao', role: 'custodian', unitIds: ['SZ'], password: 'Suggest-Pass-2026' }, 'test');
    await rt.identity.addUser({ name: 'supervisor-qian', role: 'supervisor', unitIds: ['SZ'], password: 'Suggest-Pass-2026' }, 'test');
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    footage = await makeFaceFootage(env.dir, { serial: 'ZFYS01', seconds: SECONDS, truncated: true });
    await importFolder(rt, footage.root, { serial: 'ZFYS01', case: ['YB-FS-1'], clear: false, json: true });
    const items = await rt.evidence.search({ caseNumber: 'YB-FS-1' });
    const byName = (name: string) => items.find((i) => i.originalName === name)!;
    video = byName(footage.files[0]!.name);
    truncated = byName(footage.files[1]!.name);
    proxy = await eventually(async () => (await rt.catalog.derivativesOf(video.id)).find((d) => d.kind === 'proxy'), 240_000, 'the proxy');
    await eventually(async () => ((await rt.catalog.getEvidence(truncated.id))?.media.status !== 'pending' ? true : undefined), 120_000, 'the truncated item read');
    // The suggestion and render jobs are left to the CLI's own workers.
    await rt.close();
    rt = await env.runtime();
  }, 300_000);
  afterAll(async () => env?.cleanup());

  it('`redact suggest --wait` samples the original, finds the face on its frames and stores one track, with a custody event', async () => {
    const done = await evidock(['--lang', 'en', 'redact', 'suggest', video.id, '--by', 'custodian-zhao', '--wait']);
    expect(done.code, done.output).toBe(0);
    expect(done.stdout).toMatch(/1 face suggestions made \(10 frames sampled at 2 a second, model face-api [0-9.]+ ssd_mobilenetv1; run [0-9a-f-]{36}\)/);

    const [r] = await rt.suggestions.list(video.id);
    expect(r).toMatchObject({ state: 'done', requestedBy: 'custodian-zhao', framesPerSecond: 2, frameCount: 10, warning: null });
    expect(r!.suggestions).toHaveLength(1);
    const s = r!.suggestions[0]!;
    expect(s).toMatchObject({ n: 1, decision: 'pending', box: { id: `face-${r!.id.slice(0, 8)}-1`, mode: 'blur' } });
    expect(s.detections).toBeGreaterThanOrEqual(8);
    // The padded box covers the face where it is, all the way.
    for (const t of [0.5, 2, 4]) {
      const at = boxAt(s.box, t)!;
      const face = footage.faceAt(t);
      expect(iou(at, face), `t=${t}`).toBeGreaterThan(0.4);
      expect(at.x).toBeLessThanOrEqual(face.x + 0.01);
      expect(at.x + at.w).toBeGreaterThanOrEqual(face.x + face.w - 0.01);
    }

    const events = (await rt.ledger.eventsFor({ evidenceId: video.id })).filter((e) => e.type === 'REDACTION_SUGGESTED');
    expect(events).toHaveLength(1);
    expect(events[0]!.seq).toBe(r!.eventSeq);
    expect(events[0]!.details).toMatchObject({ runId: r!.id, requestedBy: 'custodian-zhao', model: r!.model, framesPerSecond: 2, frames: 10, tracks: 1, suggestions: [{ n: 1, box: s.box }] });
  }, 300_000);

  it('a recording cut off mid-write: suggestions for the part that decodes, and a warning that says where it breaks off', async () => {
    const done = await evidock(['--lang', 'en', 'redact', 'suggest', truncated.id, '--by', 'custodian-zhao', '--wait', '--json']);
    expect(done.code, done.output).toBe(0);
    const { run: r } = JSON.parse(done.stdout) as { run: { state: string; frameCount: number; warning: string | null; suggestions: unknown[] } };
    expect(r.state).toBe('done');
    expect(r.frameCount).toBeGreaterThan(0);
    expect(r.frameCount).toBeLessThan(10);
    expect(r.warning).toMatch(/breaks off at [0-9.]+ s of 5\.0 s/);
  }, 300_000);

  it('accepting the suggestion saves it as version 1 of a new project; the render blurs the face region and leaves the rest', async () => {
    const [r] = await rt.suggestions.list(video.id);
    const saved = await rt.suggestions.accept(video.id, r!.id, 1, { author: 'custodian-zhao', actor: { kind: 'user', id: 'custodian-zhao' }, projectId: null, note: null });
    expect(saved.version).toBe(1);
    expect(saved.spec.boxes.map((b) => b.id)).toEqual([saved.boxId]);
    expect(saved.event).toMatchObject({ type: 'REDACTION_SAVED', details: { suggestion: { runId: r!.id, n: 1 } } });
    await expect(rt.suggestions.reject(video.id, r!.id, 1, { author: 'custodian-zhao', actor: { kind: 'user', id: 'custodian-zhao' }, reason: null })).rejects.toMatchObject({ code: 'SUGGESTION_DECIDED', status: 409 });
    const [after] = await rt.suggestions.list(video.id);
    expect(after!.suggestions[0]).toMatchObject({ decision: 'accepted', decidedBy: 'custodian-zhao', projectId: saved.projectId, version: 1 });

    const rendered = await evidock(['redact', 'render', video.id, '--project', saved.projectId, '--wait', '--json']);
    expect(rendered.code, rendered.output).toBe(0);
    const file = (JSON.parse(rendered.stdout) as { file: { objectKey: string } }).file;
    const copy = join(env.dir, 'suggested-redacted.mp4');
    writeFileSync(copy, await storedDerivative(rt, file.objectKey));
    const plain = join(env.dir, 'suggested-proxy.mp4');
    writeFileSync(plain, await storedDerivative(rt, proxy.objectKey));
    const figures: string[] = [];
    for (const t of [1, 2.5, 4]) {
      const { inner } = boxRegions(footage.faceAt(t), SIZE);
      const { outer } = boxRegions(boxAt(saved.spec.boxes[0]!, t)!, SIZE);
      const a = rgbFrame(copy, t, SIZE);
      const b = rgbFrame(plain, t, SIZE);
      const face = meanDifference(a, b, SIZE, within(inner));
      const rest = meanDifference(a, b, SIZE, (x, y) => !within(outer)(x, y));
      figures.push(`t=${t}: face ${face.mean.toFixed(1)}, rest ${rest.mean.toFixed(2)}`);
      expect(face.pixels).toBeGreaterThan(2_000);
      expect(face.mean, figures.join('; ')).toBeGreaterThan(8);
      expect(rest.mean, figures.join('; ')).toBeLessThan(2.5);
    }
    console.info(`suggested face blurred (copy vs proxy, mean per channel): ${figures.join('; ')}`);
  }, 300_000);

  it('the archive server: custodians list and decide suggestions, others may not; a decision is made once; every look is logged', async () => {
    const app = await buildArchiveServer(rt);
    try {
      const call = (headers: Record<string, string>, method: 'GET' | 'POST', url: string, body?: object) => app.inject({ method, url: `/api/v1${url}`, headers, ...(body ? { payload: body } : {}) });
      const login = async (name: string) => {
        let res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name, password: 'Suggest-Pass-2026' } });
        const headers = { cookie: `evidock_session=${res.cookies.find((c) => c.name === 'evidock_session')!.value}`, 'x-csrf-token': res.json<{ csrfToken: string }>().csrfToken };
        res = await call(headers, 'POST', '/auth/password', { current: 'Suggest-Pass-2026', next: 'Suggest-Pass-2026x' });
        expect(res.statusCode).toBe(200);
        return headers;
      };
      const custodian = await login('custodian-zhao');
      const supervisor = await login('supervisor-qian');
      const base = `/evidence/${truncated.id}/redactions/suggestions`;
      expect((await call(supervisor, 'GET', base)).statusCode).toBe(403);
      expect((await call(supervisor, 'POST', base, {})).statusCode).toBe(403);

      const listed = await call(custodian, 'GET', base);
      expect(listed.statusCode).toBe(200);
      const [r] = listed.json<{ runs: Array<{ runId: string; state: string; suggestions: Array<{ n: number; decision: string }> }> }>().runs;
      expect(r!.state).toBe('done');
      expect(r!.suggestions.map((x) => [x.n, x.decision])).toEqual([[1, 'pending']]);
      expect((await call(supervisor, 'POST', `${base}/${r!.runId}/1/reject`, {})).statusCode).toBe(403);
      expect((await call(custodian, 'POST', `${base}/${r!.runId}/9/accept`, {})).json()).toMatchObject({ error: { code: 'SUGGESTION_NOT_FOUND' } });

      const rejected = await call(custodian, 'POST', `${base}/${r!.runId}/1/reject`, { reason: '画面中为执法人员本人' });
      expect(rejected.statusCode).toBe(200);
      expect(rejected.json()).toMatchObject({ decision: 'rejected', event: { type: 'REDACTION_SUGGESTION_REJECTED', details: { runId: r!.runId, n: 1, by: 'custodian-zhao', reason: '画面中为执法人员本人' } } });
      const again = await call(custodian, 'POST', `${base}/${r!.runId}/1/accept`, {});
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ error: { code: 'SUGGESTION_DECIDED' } });
      // Nothing was saved: the rejected box is in no project.
      expect(await rt.redactions.list(truncated.id)).toEqual([]);

      const queued = await call(custodian, 'POST', base, {});
      expect(queued.statusCode).toBe(200);
      expect(queued.json()).toMatchObject({ state: 'queued', requestedBy: 'custodian-zhao', suggestions: [] });

      const log = await rt.db.query<{ action: string; purpose: string }>('SELECT action, purpose FROM access_log WHERE evidence_id = $1 AND principal_name = $2', [truncated.id, 'custodian-zhao']);
      expect(log.rows).toEqual(expect.arrayContaining([{ action: 'view', purpose: 'redaction suggestions' }]));
    } finally {
      await app.close();
    }
  });
});
