import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxAt, type RedactionBox } from '../archive/redaction-project.ts';
import { hashStored } from '../archive/verify.service.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { renderKind } from '../storage/redaction.repository.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { boxRegions, meanDifference, rgbFrame, storedDerivative as stored, within } from './support/frames.ts';
import { createTestEnv, eventually, evidock as run, type TestEnv } from './support/test-env.ts';

/**
 * Redaction on real footage with real ffmpeg: a spec saved through `evidock redact save`, the
 * copy rendered by the sandboxed transcode worker through `evidock redact render --wait`, then
 * both the proxy and the copy decoded to raw RGB and compared region by region, and the sound
 * measured with ffmpeg's volumedetect over the muted span and outside it.
 */

const W = 640;
const H = 360;

const SIZE = { w: W, h: H };

/** ffmpeg's volumedetect over [from, to) of the file's sound: mean and max in dB. */
function loudness(path: string, from: number, to: number): { mean: number; max: number } {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-ss', String(from), '-t', String(to - from), '-i', path, '-vn', '-af', 'volumedetect', '-f', 'null', '-'], { encoding: 'utf8' });
  const mean = /mean_volume: (-?[0-9.]+|-inf) dB/.exec(r.stderr);
  const max = /max_volume: (-?[0-9.]+|-inf) dB/.exec(r.stderr);
  if (!mean || !max) throw new Error(`no volumedetect result for ${path}: ${r.stderr}`);
  const db = (s: string) => (s === '-inf' ? Number.NEGATIVE_INFINITY : Number(s));
  return { mean: db(mean[1]!), max: db(max[1]!) };
}

const box: RedactionBox = {
  id: 'face-1',
  shape: 'rect',
  mode: 'blur',
  keyframes: [
    { t: 1, x: 0.1, y: 0.15, w: 0.25, h: 0.35 },
    { t: 4, x: 0.6, y: 0.45, w: 0.25, h: 0.35 },
  ],
};
const spec = { boxes: [{ id: box.id, mode: box.mode, keyframes: box.keyframes }], audioRanges: [{ from: 2, to: 3.5, mode: 'mute' }] };

describe('redaction: a moving box and a muted span rendered into a copy; the original untouched', () => {
  let env: TestEnv;
  let rt: Runtime;
  let video: EvidenceRow;
  let proxy: DerivativeRow;
  let projectId: string;
  const evidock = async (args: string[]) => {
    const r = await run(args, env.childEnv);
    return { ...r, output: `${r.stdout}${r.stderr}` };
  };

  beforeAll(async () => {
    env = await createTestEnv('redact', { media: { proxyPreset: 'ultrafast', proxyCrf: 23, transcodeConcurrency: 1 } });
    rt = await env.runtime();
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'test');
    await rt.identity.addUser({ name: 'custodian-wang', role: 'custodian', unitIds: ['SZ'], password: 'Redact-Pass-2026' }, 'test');
    await rt.identity.addUser({ name: 'supervisor-li', role: 'supervisor', unitIds: ['SZ'], password: 'Redact-Pass-2026' }, 'test');
    // Served here only for ingest and the proxy: the render is left to `redact render --wait`.
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    const footage = await makeRecorderFootage(join(env.dir, 'rec'), { files: 1, seconds: 6, audio: false, photo: false, width: W, height: H, serial: 'ZFYR01' });
    await importFolder(rt, footage.root, { serial: 'ZFYR01', case: ['YB-RD-1'], clear: false, json: true });
    video = (await rt.evidence.search({ caseNumber: 'YB-RD-1' }))[0]!;
    proxy = await eventually(async () => (await rt.catalog.derivativesOf(video!.id)).find((d) => d.kind === 'proxy'), 240_000, 'the proxy');
    await rt.close();
  }, 300_000);
  afterAll(async () => env?.cleanup());

  it('refuses a spec that does not fit the recording, naming each problem, and stores nothing', async () => {
    const file = join(env.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ boxes: [{ id: 'x', mode: 'blur', keyframes: [{ t: 3, x: 0.9, y: 0, w: 0.2, h: 0.2 }, { t: 2, x: 0, y: 0, w: 0.2, h: 0.2 }] }], audioRanges: [{ from: 5, to: 60, mode: 'mute' }] }));
    const refused = await evidock(['--lang', 'en', 'redact', 'save', video.id, '--spec', file, '--by', 'custodian-wang']);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('boxes[0].keyframes[0]: the box reaches outside the frame');
    expect(refused.output).toContain('boxes[0].keyframes[1].t: keyframes must be in order of time: 2 s is not after 3 s');
    expect(refused.output).toMatch(/audioRanges\[0\]\.to: 60 s is past the recording's end/);
    writeFileSync(join(env.dir, 'broken.json'), '{ "boxes": [');
    const unreadable = await evidock(['redact', 'save', video.id, '--spec', join(env.dir, 'broken.json'), '--by', 'custodian-wang']);
    expect(unreadable.code).toBe(1);
    expect(unreadable.output.trim().split('\n')).toHaveLength(1);
    expect(unreadable.output).toContain('无法读取脱敏方案文件');
    // Only a custodian saves a project.
    writeFileSync(join(env.dir, 'spec.json'), JSON.stringify(spec));
    const notCustodian = await evidock(['redact', 'save', video.id, '--spec', join(env.dir, 'spec.json'), '--by', 'supervisor-li']);
    expect(notCustodian.code).toBe(1);
    expect(notCustodian.output).toContain('不是在岗的证据管理员');
    const listed = await evidock(['redact', 'list', video.id, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({ projects: [] });
  });

  it('saves versions 1 and 2 as REDACTION_SAVED events holding the whole spec; a version cannot be changed', async () => {
    const saved = await evidock(['redact', 'save', video.id, '--spec', join(env.dir, 'spec.json'), '--by', 'custodian-wang', '--note', '第一稿', '--json']);
    expect(saved.output).not.toContain('Error');
    expect(saved.code).toBe(0);
    const first = JSON.parse(saved.stdout) as { projectId: string; version: number };
    expect(first.version).toBe(1);
    projectId = first.projectId;
    const second = JSON.parse((await evidock(['redact', 'save', video.id, '--project', projectId, '--spec', join(env.dir, 'spec.json'), '--by', 'custodian-wang', '--json'])).stdout) as { projectId: string; version: number };
    expect(second).toMatchObject({ projectId, version: 2 });

    rt = await env.runtime();
    const events = (await rt.ledger.eventsFor({ evidenceId: video.id })).filter((e) => e.type === 'REDACTION_SAVED');
    const normal = { boxes: [box], blurRanges: [], audioRanges: spec.audioRanges };
    expect(events.map((e) => e.details)).toEqual([
      { projectId, version: 1, spec: normal, author: 'custodian-wang', note: '第一稿', newProject: true },
      { projectId, version: 2, spec: normal, author: 'custodian-wang', note: null, newProject: false },
    ]);
    expect(events.map((e) => e.actor)).toEqual([{ kind: 'user', id: 'custodian-wang' }, { kind: 'user', id: 'custodian-wang' }]);
    // What the tables hold is what the events say (the catalog can be rebuilt from them).
    const [project] = await rt.redactions.list(video.id);
    expect(project!.versions.map((v) => ({ version: v.version, spec: v.spec, author: v.author, note: v.note, savedAt: v.savedAt.toISOString(), eventSeq: v.eventSeq }))).toEqual(
      events.map((e) => ({ version: e.details.version, spec: e.details.spec, author: e.details.author, note: e.details.note, savedAt: e.at, eventSeq: e.seq })),
    );
    expect(project!.createdAt.toISOString()).toBe(events[0]!.at);
    await expect(rt.db.query(`UPDATE redaction_versions SET note = 'edited' WHERE project_id = $1`, [projectId])).rejects.toThrow(/immutable/);
    await expect(rt.db.query('DELETE FROM redaction_versions WHERE project_id = $1', [projectId])).rejects.toThrow(/immutable/);
  });

  it('renders version 1 through the transcode queue: the box region changes while the box is shown, the rest does not', async () => {
    const rendered = await evidock(['redact', 'render', video.id, '--project', projectId, '--version', '1', '--wait', '--json']);
    expect(rendered.output).not.toContain('Error');
    expect(rendered.code).toBe(0);
    const result = JSON.parse(rendered.stdout) as { state: string; file: { objectKey: string; sha256: string; kind: string } };
    expect(result.state).toBe('rendered');
    expect(result.file.kind).toBe(renderKind(projectId, 1));
    expect(result.file.objectKey).toMatch(new RegExp(`^${video.id}/redacted-${projectId}-v1-[0-9a-f]{16}\\.mp4$`));

    const copy = join(env.dir, 'redacted.mp4');
    const bytes = await stored(rt, result.file.objectKey);
    writeFileSync(copy, bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.file.sha256);
    const plain = join(env.dir, 'proxy.mp4');
    writeFileSync(plain, await stored(rt, proxy.objectKey));
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', copy], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(probe).toEqual([`h264,${W},${H}`, 'aac']);

    const figures: string[] = [];
    for (const t of [1.5, 2.5, 3.5]) {
      const r = boxAt(box, t)!;
      const { inner, outer } = boxRegions(r, SIZE);
      const a = rgbFrame(copy, t, SIZE);
      const b = rgbFrame(plain, t, SIZE);
      const inside = meanDifference(a, b, SIZE, within(inner));
      const outside = meanDifference(a, b, SIZE, (x, y) => !within(outer)(x, y));
      figures.push(`t=${t}: inside ${inside.mean.toFixed(1)}, outside ${outside.mean.toFixed(2)}`);
      expect(inside.pixels).toBeGreaterThan(10_000);
      expect(outside.pixels).toBeGreaterThan(100_000);
      expect(inside.mean, figures.join('; ')).toBeGreaterThan(12);
      expect(outside.mean, figures.join('; ')).toBeLessThan(2.5);
      expect(inside.mean).toBeGreaterThan(6 * outside.mean);
    }
    // Before the first keyframe and after the last, the whole picture is the proxy's.
    for (const t of [0.5, 5]) {
      const whole = meanDifference(rgbFrame(copy, t, SIZE), rgbFrame(plain, t, SIZE), SIZE, () => true);
      figures.push(`t=${t}: whole frame ${whole.mean.toFixed(2)}`);
      expect(whole.mean, figures.join('; ')).toBeLessThan(2.5);
    }
    console.info(`redaction pixel differences (copy vs proxy, mean per channel): ${figures.join('; ')}`);
  }, 300_000);

  it('silences the muted span and only it', () => {
    const copy = join(env.dir, 'redacted.mp4');
    const plain = join(env.dir, 'proxy.mp4');
    const muted = loudness(copy, 2.1, 3.4);
    const before = loudness(copy, 0.3, 1.8);
    const after = loudness(copy, 3.7, 5.6);
    // The proxy is loud over the same span: the silence is the redaction's.
    expect(loudness(plain, 2.1, 3.4).mean).toBeGreaterThan(-35);
    expect(muted.max).toBeLessThan(-60);
    expect(before.mean).toBeGreaterThan(-35);
    expect(after.mean).toBeGreaterThan(-35);
  });

  it('records the copy with a DERIVED event naming project and version, lists it, and does not render it twice', async () => {
    const d = (await rt.catalog.derivativesOf(video.id)).find((x) => x.kind === renderKind(projectId, 1))!;
    expect(d).toMatchObject({ contentType: 'video/mp4', width: W, height: H, partial: false });
    const derived = (await rt.ledger.eventsFor({ evidenceId: video.id })).filter((e) => e.type === 'DERIVED' && e.details.key === d.objectKey);
    expect(derived).toHaveLength(1);
    expect(derived[0]!.details).toMatchObject({
      kind: renderKind(projectId, 1),
      projectId,
      version: 1,
      sha256: d.sha256,
      size: d.size,
      etag: expect.any(String),
      from: video.sha256,
      source: { kind: 'proxy', key: proxy.objectKey, sha256: proxy.sha256 },
      tool: 'ffmpeg',
      // Every fact of the derivative row: it can be rebuilt from this event.
      contentType: d.contentType,
      width: d.width,
      height: d.height,
      durationSeconds: d.durationSeconds,
      partial: false,
      toolVersion: d.toolVersion,
      arguments: d.arguments,
    });
    const listed = JSON.parse((await evidock(['redact', 'list', video.id, '--json'])).stdout) as { projects: Array<{ versions: Array<{ version: number; render: { state: string } }> }> };
    expect(listed.projects[0]!.versions.map((v) => [v.version, v.render.state])).toEqual([
      [1, 'rendered'],
      [2, 'none'],
    ]);
    const again = await evidock(['redact', 'render', video.id, '--project', projectId, '--version', '1', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'rendered', file: { objectKey: d.objectKey } });
    expect((await rt.ledger.eventsFor({ evidenceId: video.id })).filter((e) => e.type === 'DERIVED' && e.details.projectId === projectId)).toHaveLength(1);
  });

  it('never touches the original, and evidock verify still passes with the copy in the catalog', async () => {
    const item = (await rt.catalog.getEvidence(video.id))!;
    expect(item.sha256).toBe(video.sha256);
    expect(await hashStored(rt.objects, 'originals', item.objectKey)).toBe(video.sha256);
    const verified = await evidock(['verify', video.id, '--json']);
    const report = JSON.parse(verified.stdout) as { ok: boolean; items: Array<{ problems: string[] }> };
    expect(report.items.flatMap((i) => i.problems)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(verified.code).toBe(0);
  });

  it('the archive server: custodians list, save, render and play redactions; others may not; every look is logged', async () => {
    const app = await buildArchiveServer(rt);
    try {
      const call = (headers: Record<string, string>, method: 'GET' | 'POST', url: string, body?: object, extra: Record<string, string> = {}) =>
        app.inject({ method, url: `/api/v1${url}`, headers: { ...headers, ...extra }, ...(body ? { payload: body } : {}) });
      const login = async (name: string) => {
        let res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name, password: 'Redact-Pass-2026' } });
        const headers = { cookie: `evidock_session=${res.cookies.find((c) => c.name === 'evidock_session')!.value}`, 'x-csrf-token': res.json<{ csrfToken: string }>().csrfToken };
        res = await call(headers, 'POST', '/auth/password', { current: 'Redact-Pass-2026', next: 'Redact-Pass-2026x' });
        expect(res.statusCode).toBe(200);
        return headers;
      };
      const custodian = await login('custodian-wang');
      const supervisor = await login('supervisor-li');

      expect((await call(supervisor, 'GET', `/evidence/${video.id}/redactions`)).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect((await call(supervisor, 'POST', `/evidence/${video.id}/redactions`, { spec })).statusCode).toBe(403);

      const listed = await call(custodian, 'GET', `/evidence/${video.id}/redactions`);
      expect(listed.statusCode).toBe(200);
      const [project] = listed.json<{ projects: Array<{ projectId: string; versions: Array<{ version: number; render: { state: string; file: { url: string } | null } }> }> }>().projects;
      expect(project!.versions.map((v) => [v.version, v.render.state])).toEqual([
        [1, 'rendered'],
        [2, 'none'],
      ]);
      const url = `/api/v1/evidence/${video.id}/redactions/${projectId}/versions/1/file`;
      expect(project!.versions[0]!.render.file!.url).toBe(url);

      const bad = await call(custodian, 'POST', `/evidence/${video.id}/redactions`, { projectId, spec: { blurRanges: [{ from: 4, to: 3 }] } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ error: { problems: string[] } }>().error.problems).toEqual(['blurRanges[0].to: the range ends (3 s) before it starts (4 s)']);
      const saved = await call(custodian, 'POST', `/evidence/${video.id}/redactions`, { projectId, spec: { blurRanges: [{ from: 0, to: 1 }] }, note: '整段模糊' });
      expect(saved.statusCode).toBe(200);
      expect(saved.json()).toMatchObject({ projectId, version: 3, spec: { boxes: [], blurRanges: [{ from: 0, to: 1 }], audioRanges: [] }, event: { type: 'REDACTION_SAVED' } });
      expect((await call(custodian, 'POST', `/evidence/${video.id}/redactions/${projectId}/render`, {})).json()).toMatchObject({ projectId, version: 3, state: 'queued', file: null });
      expect((await call(custodian, 'POST', `/evidence/${video.id}/redactions/${projectId}/render`, { version: 1 })).json()).toMatchObject({ version: 1, state: 'rendered', file: { url } });
      expect((await call(custodian, 'POST', `/evidence/${video.id}/redactions/${projectId}/render`, { version: 9 })).json()).toMatchObject({ error: { code: 'REDACTION_NOT_FOUND' } });

      // The copy itself, whole and by range, byte for byte what was stored.
      const copy = readFileSync(join(env.dir, 'redacted.mp4'));
      const whole = await app.inject({ method: 'GET', url, headers: custodian });
      expect(whole.statusCode).toBe(200);
      expect(whole.headers['content-type']).toBe('video/mp4');
      expect(whole.rawPayload.equals(copy)).toBe(true);
      const part = await app.inject({ method: 'GET', url, headers: { ...custodian, range: 'bytes=100-199' } });
      expect(part.statusCode).toBe(206);
      expect(part.rawPayload.equals(copy.subarray(100, 200))).toBe(true);
      expect((await app.inject({ method: 'GET', url, headers: supervisor })).statusCode).toBe(403);

      // The item's derivatives point at the copy's own route.
      const detail = (await call(custodian, 'GET', `/evidence/${video.id}`)).json<{ derivatives: Array<{ kind: string; url: string }> }>();
      expect(detail.derivatives.find((d) => d.kind === renderKind(projectId, 1))!.url).toBe(url);

      const log = await rt.db.query<{ action: string; purpose: string }>('SELECT action, purpose FROM access_log WHERE evidence_id = $1 AND principal_name = $2 ORDER BY id', [video.id, 'custodian-wang']);
      expect(log.rows).toEqual(expect.arrayContaining([{ action: 'view', purpose: 'redaction projects' }, { action: 'play', purpose: `redacted copy ${projectId} v1` }]));
      // One playback record for the request from byte 0, none for the range further on.
      expect(log.rows.filter((r) => r.action === 'play')).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('a copy changed in storage is named by verify', async () => {
    const d = (await rt.catalog.derivativesOf(video.id)).find((x) => x.kind === renderKind(projectId, 1))!;
    const tampered = join(env.dir, 'tampered.mp4');
    writeFileSync(tampered, Buffer.concat([readFileSync(join(env.dir, 'redacted.mp4')), Buffer.from('x')]));
    await rt.objects.putFile('derivatives', d.objectKey, tampered, d.size + 1, {});
    const verified = await evidock(['verify', video.id, '--json']);
    expect(verified.code).toBe(1);
    expect((JSON.parse(verified.stdout) as { items: Array<{ problems: string[] }> }).items.flatMap((i) => i.problems).join('\n')).toContain(`derivative ${d.kind} ${d.objectKey}: stored size`);
  });
});
