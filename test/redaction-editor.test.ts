/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { boxAt } from '../archive/redaction-project.ts';
import { renderKind } from '../storage/redaction.repository.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { makeFaceFootage } from './support/face-footage.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * The redaction editor in a real headless Chromium against the archive server on the real
 * stack: a custodian draws a box on the paused frame at two times, adds a muted span, saves a
 * version, renders it on the shared transcode queue and plays the copy — all with the mouse
 * and keyboard, and what was saved is read back from the catalog.
 */

const PASSWORD = 'Redact-Editor-2026!';
const SHOTS = resolve(REPO_ROOT, 'var', 'screenshots');

describe('the redaction editor in Chromium', () => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let base = '';
  let evidenceId = '';
  let faceId = '';

  beforeAll(async () => {
    // Fails here, loudly, if Chromium cannot be installed: never a silent skip.
    const executablePath = execFileSync('bash', [resolve(REPO_ROOT, 'scripts/chromium.sh')], { encoding: 'utf8' }).trim();
    expect(existsSync(resolve(REPO_ROOT, 'dist', 'web', 'index.html')), 'dist/web is built').toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    env = await createTestEnv('redactweb', { media: { proxyPreset: 'ultrafast', proxyCrf: 30, transcodeConcurrency: 1 } });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'test');
    await rt.identity.addUser({ name: 'li.na', role: 'custodian', unitIds: ['SZ'], password: PASSWORD }, 'test');
    await rt.identity.changePassword(await rt.identity.principalOfUser(await rt.identity.user('li.na')), PASSWORD, `${PASSWORD}x`, null);
    const footage = await makeRecorderFootage(join(env.dir, 'rec'), { files: 1, seconds: 5, audio: false, photo: false, width: 640, height: 360, serial: 'ZFYE01' });
    const imported = await importFolder(rt, footage.root, { serial: 'ZFYE01', json: true, clear: false });
    evidenceId = imported.files[0]!.evidenceId!;
    await eventually(async () => ((await rt.catalog.derivativesOf(evidenceId)).some((d) => d.kind === 'proxy') ? true : undefined), 180_000, 'the proxy');
    // A second recording, with two faces from the face-api package's demo photo.
    const faces = await makeFaceFootage(join(env.dir, 'faces'), { serial: 'ZFYE02', seconds: 5, faces: 2 });
    faceId = (await importFolder(rt, faces.root, { serial: 'ZFYE02', json: true, clear: false })).files[0]!.evidenceId!;
    await eventually(async () => ((await rt.catalog.derivativesOf(faceId)).some((d) => d.kind === 'proxy') ? true : undefined), 180_000, 'the face recording’s proxy');
    app = await buildArchiveServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--lang=zh-CN'] });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${base}/login`);
    await page.getByLabel('用户名').fill('li.na');
    await page.getByLabel('密码').fill(`${PASSWORD}x`);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await env?.cleanup();
  });

  /** Seeks the editor's player and waits until the editor shows that time. */
  async function seek(seconds: number): Promise<void> {
    await page.locator('[data-testid="redact-stage"] video').evaluate((v: HTMLVideoElement, s) => {
      v.pause();
      v.currentTime = s;
    }, seconds);
    await page.getByTestId('redact-time').filter({ hasText: `(${seconds.toFixed(2)} s)` }).waitFor();
  }

  /** Drags across the stage from one fraction of the frame to another. */
  async function drag(from: [number, number], to: [number, number]): Promise<void> {
    const stage = page.getByTestId('redact-stage');
    await stage.scrollIntoViewIfNeeded();
    const box = (await stage.boundingBox())!;
    await page.mouse.move(box.x + from[0] * box.width, box.y + from[1] * box.height);
    await page.mouse.down();
    await page.mouse.move(box.x + ((from[0] + to[0]) / 2) * box.width, box.y + ((from[1] + to[1]) / 2) * box.height, { steps: 4 });
    await page.mouse.move(box.x + to[0] * box.width, box.y + to[1] * box.height, { steps: 4 });
    await page.mouse.up();
  }

  it('draws a moving box and a muted span, saves them as version 1, renders it and plays the copy', async () => {
    await page.goto(`${base}/evidence/${evidenceId}`);
    await page.getByRole('heading', { name: '脱敏处理' }).waitFor();
    await page.locator('[data-testid="redact-stage"] video').evaluate((v: HTMLVideoElement) => (v.readyState >= 1 ? null : new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }))));

    await seek(1);
    await drag([0.1, 0.2], [0.3, 0.5]);
    await seek(3);
    await drag([0.5, 0.4], [0.7, 0.7]);
    // Between the keyframes the box is drawn where the render will put it.
    await seek(2);
    const shown = await page.locator('.redact-box').first().evaluate((el: HTMLElement) => ({ left: el.style.left, top: el.style.top }));
    expect(Number.parseFloat(shown.left)).toBeCloseTo(30, 0);
    expect(Number.parseFloat(shown.top)).toBeCloseTo(30, 0);

    await page.getByLabel('开始（秒）').fill('2');
    await page.getByLabel('结束（秒）').fill('3');
    await page.getByRole('button', { name: '添加声音处理' }).click();
    await page.getByLabel('说明（可选）').fill('遮挡当事人面部');
    await page.getByRole('button', { name: '保存为新版本' }).click();
    await page.getByRole('status').filter({ hasText: '已保存第 1 版' }).waitFor();

    const [project] = await rt.redactions.list(evidenceId);
    const [v1] = project!.versions;
    expect(v1!).toMatchObject({ version: 1, author: 'li.na', note: '遮挡当事人面部', spec: { blurRanges: [], audioRanges: [{ from: 2, to: 3, mode: 'mute' }] } });
    expect(v1!.spec.boxes).toHaveLength(1);
    const [a, b] = v1!.spec.boxes[0]!.keyframes;
    expect(v1!.spec.boxes[0]!.keyframes).toHaveLength(2);
    expect([a!.t, b!.t]).toEqual([1, 3]);
    for (const [got, want] of [
      [a!, { x: 0.1, y: 0.2, w: 0.2, h: 0.3 }],
      [b!, { x: 0.5, y: 0.4, w: 0.2, h: 0.3 }],
    ] as const) {
      for (const k of ['x', 'y', 'w', 'h'] as const) expect(got[k]).toBeCloseTo(want[k], 2);
    }

    await page.getByTestId('redact-version-1').getByRole('button', { name: '生成脱敏副本' }).click();
    await page.getByRole('status').filter({ hasText: '已提交生成' }).waitFor();
    await eventually(async () => ((await rt.catalog.derivativesOf(evidenceId)).some((d) => d.kind === renderKind(project!.projectId, 1)) ? true : undefined), 120_000, 'the redacted copy');
    await page.getByTestId('redact-version-1').getByRole('button', { name: '刷新' }).click();
    await page.getByTestId('redact-version-1').getByRole('button', { name: '播放脱敏副本' }).click();
    const copy = page.getByTestId('redacted-copy');
    await copy.evaluate((v: HTMLVideoElement) => (v.readyState >= 2 ? null : new Promise((r) => v.addEventListener('loadeddata', r, { once: true }))));
    expect(await copy.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight])).toEqual([640, 360]);
    await page.locator('.redaction').screenshot({ path: join(SHOTS, 'redaction-editor.png') });
  }, 240_000);

  it('asks for face suggestions, shows them over the player, accepts one and rejects the other: the saved version holds exactly the accepted box', async () => {
    await page.goto(`${base}/evidence/${faceId}`);
    await page.getByRole('heading', { name: '脱敏处理' }).waitFor();
    await page.locator('[data-testid="redact-stage"] video').evaluate((v: HTMLVideoElement) => (v.readyState >= 1 ? null : new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }))));
    await page.getByRole('button', { name: '检测人脸' }).click();
    await page.getByTestId('suggest-state').filter({ hasText: '检测完成' }).waitFor({ timeout: 180_000 });
    await expect(page.getByTestId('suggest-state').textContent()).resolves.toMatch(/2 条建议（抽取 10 帧，每秒 2 帧，face-api .* ssd_mobilenetv1）/);

    await seek(2);
    // Both tracks are drawn as dashed boxes where they are at 2 s.
    const [run] = await rt.suggestions.list(faceId);
    for (const s of run!.suggestions) {
      const at = boxAt(s.box, 2)!;
      const shown = await page.getByTestId(`suggested-box-${s.n}`).evaluate((el: HTMLElement) => ({ left: el.style.left, top: el.style.top }));
      expect(Number.parseFloat(shown.left)).toBeCloseTo(at.x * 100, 0);
      expect(Number.parseFloat(shown.top)).toBeCloseTo(at.y * 100, 0);
    }

    await page.getByTestId('suggestion-1').getByRole('button', { name: '采纳' }).click();
    await page.getByRole('status').filter({ hasText: '已采纳建议 1，保存为第 1 版' }).waitFor();
    await page.getByTestId('suggestion-2').getByRole('button', { name: '驳回' }).click();
    await page.getByRole('status').filter({ hasText: '已驳回建议 2' }).waitFor();
    await page.getByTestId('suggestion-2').filter({ hasText: 'li.na 已驳回' }).waitFor();
    // The accepted track is now an ordinary box of the editor; no suggestion is left undecided on the picture.
    await expect(page.locator('.redact-box.suggested').count()).resolves.toBe(0);
    await expect(page.locator('.redact-box:not(.suggested)').count()).resolves.toBe(1);

    const [project] = await rt.redactions.list(faceId);
    expect(project!.versions).toHaveLength(1);
    const accepted = run!.suggestions.find((s) => s.n === 1)!;
    expect(project!.versions[0]!.spec).toEqual({ boxes: [accepted.box], blurRanges: [], audioRanges: [] });
    const [after] = await rt.suggestions.list(faceId);
    expect(after!.suggestions.map((s) => [s.n, s.decision, s.decidedBy])).toEqual([
      [1, 'accepted', 'li.na'],
      [2, 'rejected', 'li.na'],
    ]);
    const events = (await rt.ledger.eventsFor({ evidenceId: faceId })).map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['REDACTION_SUGGESTED', 'REDACTION_SAVED', 'REDACTION_SUGGESTION_REJECTED']));
    await page.locator('.redaction').screenshot({ path: join(SHOTS, 'redaction-suggestions.png') });
  }, 300_000);

  it('switches to English', async () => {
    await page.getByRole('button', { name: '切换语言' }).click();
    await page.getByRole('heading', { name: 'Redaction' }).waitFor();
    await expect(page.getByRole('button', { name: 'Save as a new version' }).count()).resolves.toBe(1);
  });
});
