/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { QueueName, SERVER_QUEUES, SHARED_QUEUES } from '../workers/job.types.ts';
import { bankCard, residentId } from './support/generated-pii.ts';
import { bagitValidate, unzip } from './support/package-tools.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * The web interface in a real headless Chromium (Debian's, driven by playwright-core), served
 * by the archive server on the real stack: what officers, custodians and auditors do in it.
 * Every page is also photographed at 1366×768 (docs/screenshots/ has the README's copies).
 */

const PASSWORD = 'Web-Archive-2026!';
const READY = `${PASSWORD}x`;
const CASE = 'YB-SZ-2026-107';
// Photographed into var/ (not tracked); `npm run screenshots` refreshes the README's copies.
const SHOTS = resolve(REPO_ROOT, 'var', 'screenshots');

const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));

describe('the web interface in Chromium', () => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  let browser: Browser;
  let base = '';
  const ids: Record<string, string> = {};
  const contexts: BrowserContext[] = [];

  async function importRecorder(serial: string, officer: string, seconds: number, extra: { case?: string[]; subject?: string; place?: string } = {}): Promise<string> {
    const root = join(env.dir, `${serial}-${Date.now()}`);
    mkdirSync(root, { recursive: true });
    await makeRecorderFootage(root, { files: 1, seconds, serial, officer, audio: false, photo: false, width: 320, height: 180, seed: serial.length + seconds });
    const r = await importFolder(rt, root, { serial, json: true, ...extra });
    return r.files[0]!.evidenceId!;
  }

  async function pageFor(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    return page;
  }

  async function login(page: Page, name: string, password = READY): Promise<void> {
    await page.goto(`${base}/login`);
    await page.getByLabel('用户名').fill(name);
    await page.getByLabel('密码').fill(password);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.evaluate(() => document.fonts.ready);
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  }

  beforeAll(async () => {
    // Fails here, loudly, if Chromium cannot be installed: never a silent skip.
    const executablePath = execFileSync('bash', [resolve(REPO_ROOT, 'scripts/chromium.sh')], { encoding: 'utf8' }).trim();
    // The pages are the build's (npm run build puts them in dist/web); scripts/run.sh builds first.
    expect(existsSync(resolve(REPO_ROOT, 'dist', 'web', 'index.html')), 'dist/web is built').toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    env = await createTestEnv('webui', { media: { proxyPreset: 'ultrafast', proxyCrf: 35, transcodeConcurrency: 2 } });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES, ...SERVER_QUEUES]);
    const by = 'web-test';
    await rt.identity.addUnit({ id: 'GD', name: '广东省医疗保障局', parentId: null }, by);
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: 'GD' }, by);
    const users: Array<[string, 'officer' | 'custodian' | 'auditor' | 'admin', string | null, boolean]> = [
      ['zhang.wei', 'officer', 'O1', true],
      ['li.na', 'custodian', null, false],
      ['wang.audit', 'auditor', null, true],
      ['admin', 'admin', null, true],
    ];
    for (const [name, role, officerId, ready] of users) {
      await rt.identity.addUser({ name, role, unitIds: [role === 'admin' ? 'GD' : 'SZ'], officerId, password: PASSWORD }, by);
      // All but the custodian have changed their first password already; she does it in the browser.
      if (ready) await rt.identity.changePassword(await rt.identity.principalOfUser(await rt.identity.user(name)), PASSWORD, READY, null);
    }
    await rt.identity.registerRecorder({ serial: 'ZFYA01', officerId: 'O1', unitId: 'SZ' }, by);
    await rt.identity.registerRecorder({ serial: 'ZFYA09', officerId: 'O1', unitId: 'SZ' }, by);
    await rt.identity.registerRecorder({ serial: 'ZFYB02', officerId: 'O2', officerName: '陈刚', unitId: 'SZ' }, by);
    ids.own = await importRecorder('ZFYA01', 'O1', 3, { case: ['YB-SZ-2026-100'], subject: '某诊所', place: '深圳市南山区' });
    // The other officer's recording: in the case, its subject missing (the custodian fills it in).
    ids.other = await importRecorder('ZFYB02', 'O2', 12, { case: [CASE], place: '深圳市福田区' });
    await eventually(async () => ((await rt.catalog.derivativesOf(ids.other!)).some((d) => d.kind === 'proxy') && (await rt.catalog.derivativesOf(ids.other!)).some((d) => d.kind === 'storyboard') ? true : undefined), 180_000, 'the proxy and storyboard');
    app = await buildArchiveServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--lang=zh-CN', '--autoplay-policy=no-user-gesture-required'] });
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
    await env?.cleanup();
  });

  it('serves the pages with a strict CSP, and every page path gets the app', async () => {
    const res = await fetch(`${base}/search?case=x`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    // Sent compressed as built (fetch decodes it): the bytes are the script.
    expect(js.headers.get('content-encoding')).toBe('br');
    expect(await js.text()).toContain('evidock');
    // Under /api/ nothing falls back to the page: an unknown route is the API's JSON error.
    const api = await fetch(`${base}/api/v1/nope`, { headers: { accept: 'text/html' } });
    expect(api.headers.get('content-type')).toContain('application/json');
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it('an officer logs in and sees only their own recordings', async () => {
    const page = await pageFor();
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await shot(page, 'login');
    await login(page, 'zhang.wei');
    await page.getByRole('link', { name: '证据检索' }).click();
    await page.locator('tr[data-evidence]').first().waitFor();
    const shown = await page.locator('tr[data-evidence]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-evidence')));
    expect(shown).toEqual([ids.own]);
  });

  it('a recorder docked while the dock board is open appears on it live, with 可以拔出', async () => {
    const page = await pageFor();
    await login(page, 'zhang.wei');
    await page.goto(`${base}/docks`);
    await page.locator('.live.on').waitFor();
    expect(await page.locator('[data-serial="ZFYA09"]').count()).toBe(0);
    const imported = importRecorder('ZFYA09', 'O1', 2, { case: ['YB-SZ-2026-101'] });
    const card = page.locator('.card.dock[data-serial="ZFYA09"]');
    await card.locator('.undock.safe').waitFor({ timeout: 90_000 });
    expect(await card.locator('.undock.safe').innerText()).toBe('可以拔出');
    expect(await card.getByRole('progressbar').first().getAttribute('aria-valuenow')).toBe('100');
    await imported;
    await shot(page, 'dock-board');
  });

  it('a custodian changes her first password, finds the recording by case number, plays it and seeks', async () => {
    const page = await pageFor();
    await login(page, 'li.na', PASSWORD);
    await page.getByText('首次登录请先修改密码').waitFor();
    await page.getByLabel('当前密码').fill(PASSWORD);
    await page.getByLabel('新密码', { exact: true }).fill(READY);
    await page.getByLabel('再次输入新密码').fill(READY);
    await page.getByRole('button', { name: '保存' }).click();
    // Done when the forced change gives way to her home page (the dock board).
    await page.getByText('首次登录请先修改密码').waitFor({ state: 'detached' });

    await page.goto(`${base}/search`);
    await page.getByLabel('案件编号', { exact: true }).fill(CASE);
    await page.getByRole('button', { name: '检索' }).click();
    await page.waitForURL(/case=/);
    // The rows of this query (the list of the page's first, unfiltered query must be gone).
    await page.locator(`.results[data-query="${new URLSearchParams({ case: CASE })}"]`).waitFor();
    const row = page.locator(`tr[data-evidence="${ids.other}"]`);
    await row.waitFor();
    expect(await page.locator('tr[data-evidence]').count()).toBe(1);
    // The missing subject is highlighted in the row.
    expect(await row.locator('.missing-field').count()).toBeGreaterThan(0);
    await shot(page, 'search');
    await page.getByRole('tab', { name: '缩略图' }).click();
    await page.locator('.grid .tile').first().waitFor();
    await shot(page, 'search-grid');
    await page.getByRole('tab', { name: '列表' }).click();

    await row.locator('a').first().click();
    await page.waitForURL(new RegExp(`/evidence/${ids.other}`));
    const video = page.locator('video');
    await video.waitFor();
    await page.evaluate(() => document.querySelector('video')!.play());
    await page.waitForFunction(() => {
      const v = document.querySelector('video')!;
      return v.currentTime > 0.5 && v.getVideoPlaybackQuality().totalVideoFrames > 0;
    });
    // Seek by clicking three quarters along the scrub bar (range requests bring that part).
    const bar = await page.getByTestId('scrub').boundingBox();
    await page.mouse.click(bar!.x + bar!.width * 0.75, bar!.y + bar!.height / 2);
    await page.waitForFunction(() => {
      const v = document.querySelector('video')!;
      return v.currentTime > 8 && v.readyState >= 2;
    });
    const frames = await page.evaluate(() => document.querySelector('video')!.getVideoPlaybackQuality().totalVideoFrames);
    expect(frames).toBeGreaterThan(0);
    // Hovering the bar shows the storyboard tile of that moment.
    await page.mouse.move(bar!.x + bar!.width * 0.3, bar!.y + bar!.height / 2);
    await page.locator('.scrub-tile').waitFor();
    // The keyboard: space pauses.
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.querySelector('video')!.paused);
    // How long it is kept: a case record; the custodian holds it with a reason, and releases it.
    await page.getByTestId('retention-class').filter({ hasText: '案件记录（归档后起算）' }).waitFor();
    await page.getByLabel('事由', { exact: true }).fill('当事人申请复议');
    await page.getByRole('button', { name: '冻结（禁止销毁）' }).click();
    await page.getByTestId('legal-hold').filter({ hasText: '是（当事人申请复议）' }).waitFor();
    expect(await rt.objects.legalHold('originals', (await rt.catalog.getEvidence(ids.other!))!.objectKey)).toBe(true);
    await shot(page, 'item');
    await page.getByLabel('事由', { exact: true }).fill('复议结束');
    await page.getByRole('button', { name: '解除冻结' }).click();
    await page.getByTestId('legal-hold').filter({ hasText: '否' }).waitFor();

    // Fill in the missing subject, with a reason; the TAGGED event appears in the timeline.
    await page.getByRole('button', { name: '修改' }).click();
    await page.getByLabel('证明对象').fill('某定点零售药店');
    await page.getByLabel(/原因/).fill('现场笔录补录证明对象');
    await page.getByRole('button', { name: '保存修改' }).click();
    await page.locator('li[data-type="TAGGED"]').waitFor();
    expect(await page.locator('li[data-type="TAGGED"]').innerText()).toContain('现场笔录补录证明对象');
    expect((await rt.catalog.getEvidence(ids.other!))!.subject).toBe('某定点零售药店');
    await page.getByRole('button', { name: '立即校验' }).click();
    await page.locator('.verify-result.ok').waitFor();
  });

  it('an auditor asks to play, the custodian approves, the auditor plays', async () => {
    const auditor = await pageFor();
    await login(auditor, 'wang.audit');
    await auditor.goto(`${base}/evidence/${ids.other}`);
    await auditor.getByText('播放需要审批').waitFor();
    expect(await auditor.locator('video').count()).toBe(0);
    await auditor.getByRole('button', { name: '申请访问' }).click();
    await auditor.getByLabel('用途（必填）').fill('季度执法音视频记录抽查');
    await auditor.locator('form').getByRole('button', { name: '申请访问' }).click();
    await auditor.getByText('申请已提交').waitFor();

    const custodian = await pageFor();
    await login(custodian, 'li.na');
    await custodian.goto(`${base}/approvals`);
    const request = custodian.locator('article.request').first();
    await request.waitFor();
    expect(await request.innerText()).toContain('季度执法音视频记录抽查');
    await shot(custodian, 'approvals');
    await request.getByLabel('审批意见').fill('同意抽查');
    await request.getByRole('button', { name: '批准', exact: true }).click();
    await custodian.locator('article.request').waitFor({ state: 'detached' });

    await auditor.reload();
    await auditor.locator('video').waitFor();
    await auditor.evaluate(() => document.querySelector('video')!.play());
    await auditor.waitForFunction(() => document.querySelector('video')!.currentTime > 0.3);
    const plays = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM access_log WHERE action = 'play' AND evidence_id = $1 AND approval_id IS NOT NULL`, [ids.other]);
    expect(Number(plays.rows[0]!.n)).toBeGreaterThan(0);

    await auditor.goto(`${base}/audit`);
    await auditor.locator('table.data tbody tr').first().waitFor();
    await shot(auditor, 'access-log');
    await auditor.getByRole('tab', { name: '监管链账本' }).click();
    await auditor.locator('code', { hasText: 'RECORDED' }).first().waitFor();
    await shot(auditor, 'ledger');
    await auditor.goto(`${base}/reports`);
    await auditor.locator('table.data, .empty').first().waitFor();
    await shot(auditor, 'reports');
  });

  it('a custodian shares the case from its page; the recipient plays and downloads the copy without logging in; a revoked link answers 410', async () => {
    const custodian = await pageFor();
    await login(custodian, 'li.na');
    await custodian.goto(`${base}/cases/${CASE}`);
    const panel = custodian.getByRole('region', { name: '受控共享' });
    await panel.getByText('还没有共享。').waitFor();
    await panel.getByLabel('接收人（必填）').fill('律师王某');
    await panel.getByLabel('共享方式').selectOption('download');
    await panel.getByLabel('用途', { exact: true }).fill('行政复议查阅');
    expect(await panel.getByLabel('在副本上加水印').isChecked()).toBe(true);
    await panel.getByRole('button', { name: '创建共享链接' }).click();
    // Burning the watermark into the 12 s proxy takes a while.
    const created = panel.getByTestId('share-created');
    await created.waitFor({ timeout: 120_000 });
    const link = await created.getByLabel('链接').inputValue();
    const token = await created.getByLabel('令牌').inputValue();
    expect(token).toMatch(/^evs_[A-Za-z0-9_-]{43}$/);
    expect(link).toBe(`${base}/share/${token}`);
    const [share] = await rt.sharing.all({ caseNumber: CASE });
    expect(share).toMatchObject({ recipient: '律师王某', mode: 'download', watermark: true, purpose: '行政复议查阅', createdBy: 'li.na', tokenSha256: createHash('sha256').update(token).digest('hex') });
    expect(share!.items.map((i) => i.evidenceId)).toEqual([ids.other]);
    const row = panel.locator(`li[data-share="${share!.id}"]`);
    expect(await row.getByTestId('share-state').innerText()).toBe('有效');
    await shot(custodian, 'case-share');
    // The token is shown that once: a reload of the page has it nowhere.
    await custodian.reload();
    await panel.locator(`li[data-share="${share!.id}"]`).waitFor();
    expect(await panel.getByTestId('share-created').count()).toBe(0);
    expect(await custodian.content()).not.toContain(token);
    // The receipt links answer the HTML page and the PDF, in her session.
    const receipts = await custodian.evaluate(async (hrefs) => {
      const out = [];
      for (const href of hrefs) {
        const r = await fetch(href!);
        const body = new Uint8Array(await r.arrayBuffer());
        out.push({ status: r.status, type: r.headers.get('content-type'), head: new TextDecoder().decode(body.slice(0, 5)), text: new TextDecoder().decode(body) });
      }
      return out;
    }, [await row.getByRole('link', { name: '回执（网页）' }).getAttribute('href'), await row.getByRole('link', { name: '回执（PDF）' }).getAttribute('href')]);
    expect(receipts[0]).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(receipts[0]!.text).toContain('律师王某');
    expect(receipts[0]!.text).toContain(share!.items[0]!.copySha256);
    expect(receipts[1]).toMatchObject({ status: 200, type: 'application/pdf', head: '%PDF-' });

    // The recipient: a browser with no session opens the link.
    const recipient = await pageFor();
    const opened = await recipient.goto(link);
    expect(opened!.status()).toBe(200);
    const item = recipient.locator(`article.shared-item[data-evidence="${ids.other}"]`);
    await item.waitFor();
    expect(recipient.url()).toBe(link);
    // None of the archive: no navigation, no login form, no session asked for.
    expect(await recipient.locator('nav').count()).toBe(0);
    expect(await recipient.getByRole('button', { name: '退出登录' }).count()).toBe(0);
    expect(await recipient.getByLabel('密码').count()).toBe(0);
    // Nothing of the shell's loading line is left beside the page.
    expect(await recipient.locator('.boot, .loading').count()).toBe(0);
    expect(await recipient.getByTestId('shared-recipient').innerText()).toBe('律师王某');
    expect(await recipient.getByTestId('shared-case').innerText()).toBe(CASE);
    expect(await recipient.getByTestId('shared-mode').innerText()).toBe('可在线查看和下载');
    expect(await item.getByTestId('copy-sha256').innerText()).toBe(share!.items[0]!.copySha256);
    expect(await item.getByTestId('original-sha256').innerText()).toBe((await rt.catalog.getEvidence(ids.other!))!.sha256);
    expect(share!.items[0]!.copySha256).not.toBe(share!.items[0]!.sha256);
    expect(await item.locator('video').getAttribute('src')).toBe(`/api/v1/shared/${token}/items/${ids.other}/play`);
    await recipient.evaluate(() => document.querySelector('video')!.play());
    await recipient.waitForFunction(() => {
      const v = document.querySelector('video')!;
      return v.currentTime > 0.3 && v.getVideoPlaybackQuality().totalVideoFrames > 0;
    });
    await shot(recipient, 'shared');
    // The download is the copy: its bytes hash to the copy's SHA-256 the page shows.
    const download = recipient.waitForEvent('download');
    await item.getByRole('link', { name: '下载副本' }).click();
    const file = await download;
    const saved = join(env.dir, 'shared-download.mp4');
    await file.saveAs(saved);
    expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(share!.items[0]!.copySha256);
    const logged = await rt.db.query<{ action: string }>(`SELECT DISTINCT action FROM access_log WHERE principal_kind = 'share' AND principal_id = $1 ORDER BY action`, [share!.id]);
    expect(logged.rows.map((r) => r.action)).toEqual(['download', 'play', 'view']);
    // The page in English too (the recipient may not read Chinese).
    await recipient.getByRole('button', { name: '切换语言' }).click();
    expect(await recipient.getByTestId('shared-mode').innerText()).toBe('view online and download');
    await recipient.getByRole('button', { name: 'Switch language' }).click();
    await recipient.getByTestId('shared-mode').filter({ hasText: '可在线查看和下载' }).waitFor();
    ids.shareToken = token;

    // A view-only share of the item, made through the API: its page offers no download, and
    // the item page's panel lists it with the case's share and revokes it.
    const viewOnly = await custodian.evaluate(async (evidenceId) => {
      const me = (await (await fetch('/api/v1/auth/me')).json()) as { csrfToken: string };
      const r = await fetch('/api/v1/shares', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: JSON.stringify({ evidenceIds: [evidenceId], recipient: '复议机关', mode: 'view', watermark: false }) });
      return { status: r.status, body: (await r.json()) as { share: { shareId: string }; token: string; link: string } };
    }, ids.other!);
    expect(viewOnly.status).toBe(201);
    const viewLink = `${base}${viewOnly.body.link}`;
    expect((await recipient.goto(viewLink))!.status()).toBe(200);
    await recipient.getByTestId('shared-mode').filter({ hasText: '仅在线查看' }).waitFor();
    await recipient.locator('article.shared-item video').waitFor();
    expect(await recipient.getByRole('link', { name: '下载副本' }).count()).toBe(0);

    await custodian.goto(`${base}/evidence/${ids.other}`);
    const itemPanel = custodian.getByRole('region', { name: '受控共享' });
    const viewRow = itemPanel.locator(`li[data-share="${viewOnly.body.share.shareId}"]`);
    await viewRow.waitFor();
    expect(await itemPanel.locator('li[data-share]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-share')).sort())).toEqual([share!.id, viewOnly.body.share.shareId].sort());
    await viewRow.getByRole('button', { name: '撤销' }).click();
    await viewRow.getByLabel('撤销原因（必填）').fill('复议已终结');
    await viewRow.getByRole('button', { name: '确认撤销' }).click();
    await itemPanel.locator(`li[data-share="${viewOnly.body.share.shareId}"][data-state="revoked"]`).waitFor();
    expect(await viewRow.getByTestId('share-state').innerText()).toBe('已撤销');
    expect(await viewRow.getByRole('button', { name: '撤销' }).count()).toBe(0);
    expect((await rt.sharing.byId(viewOnly.body.share.shareId)).revokeReason).toBe('复议已终结');

    // The revoked link: the page answers 410 and says so in both languages, nothing else.
    const gone = await recipient.goto(viewLink);
    expect(gone!.status()).toBe(410);
    const unavailable = recipient.getByTestId('share-unavailable');
    await unavailable.waitFor();
    expect(await unavailable.getAttribute('data-status')).toBe('410');
    expect(await unavailable.locator('p.lead').allInnerTexts()).toEqual(['该共享链接已失效（已撤销或已过期）。如需查看，请联系提供方。', 'This share link is no longer valid (revoked or expired). Ask the sender for a new one.']);
    expect(await unavailable.innerText()).toContain('已被撤销');
    expect(await recipient.locator('video, article.shared-item, nav, .boot, .loading').count()).toBe(0);
    await shot(recipient, 'shared-gone');
    // A token that names no share: 404, and its own message.
    const unknown = await recipient.goto(`${base}/share/evs_${'A'.repeat(43)}`);
    expect(unknown!.status()).toBe(404);
    await unavailable.waitFor();
    expect(await unavailable.getAttribute('data-status')).toBe('404');
    expect(await unavailable.locator('p.lead').allInnerTexts()).toEqual(['共享链接不存在，请核对链接地址。', 'This share link does not exist; check the address.']);
    // The case's share is still open.
    expect((await recipient.goto(link))!.status()).toBe(200);
  }, 240_000);

  it('a custodian makes a disclosure copy from the case page: no personal data in the zip; an officer sees no panel', async () => {
    // A case whose record says who, where and which numbers (generated, with valid check digits).
    const disclosed = 'YB-SZ-2026-109';
    const secrets = [residentId(31), bankCard(12), '13812345678', '0755-83212345', '深南大道1000号', '501室', '张三丰', '李四光', '王五'];
    const evidenceId = await importRecorder('ZFYA09', 'O1', 4, {
      case: [disclosed],
      subject: `当事人张三丰（身份证号 ${secrets[0]}，手机 13812345678，银行卡 ${secrets[1]}），证人：李四光，陪同王五`,
      place: '广东省深圳市福田区深南大道1000号3栋2单元501室，座机0755-83212345',
    });
    await eventually(async () => ((await rt.catalog.derivativesOf(evidenceId)).some((d) => d.kind === 'proxy') ? true : undefined), 180_000, 'the proxy');
    await rt.identity.addUser({ name: 'zhao.keeper', role: 'custodian', unitIds: ['SZ'], officerId: null, password: PASSWORD }, 'web-test');
    const approver = { principal: await rt.identity.principalOfUser(await rt.identity.user('zhao.keeper')), ip: null, userAgent: 'test' };

    const custodian = await pageFor();
    await login(custodian, 'li.na');
    await custodian.goto(`${base}/cases/${disclosed}`);
    const panel = custodian.getByRole('region', { name: '公示脱敏副本' });
    // No approval yet: the panel says so, links to the approvals page and asks for one.
    await panel.getByTestId('disclose-no-approval').waitFor();
    expect(await panel.getByRole('link', { name: '审批页面' }).getAttribute('href')).toBe('/approvals');
    await panel.getByLabel('申请用途（必填）').fill('处罚决定公示');
    await panel.getByRole('button', { name: '申请导出审批' }).click();
    await panel.getByText('已提交申请，等待另一名证据管理员批准。').first().waitFor();
    const [request] = (await rt.access.requests((await rt.identity.principalOfUser(await rt.identity.user('li.na'))))).mine.filter((r) => r.caseNumber === disclosed);
    expect(request).toMatchObject({ state: 'pending', actions: ['export'], purpose: '处罚决定公示' });
    await rt.access.decide(approver, request!.id, { approve: true, reason: '同意公示', expiresAt: new Date(Date.now() + 86_400_000) });

    await custodian.reload();
    await panel.getByLabel('依据的审批（导出）').waitFor();
    expect(await panel.getByLabel('依据的审批（导出）').inputValue()).toBe(request!.id);
    // The record has no redacted render: the warning names it before anything is made.
    const warning = panel.getByTestId('disclose-unredacted');
    await warning.waitFor();
    expect(await warning.innerText()).toContain('1 件记录没有遮蔽渲染');
    expect(await warning.locator(`a[href="/evidence/${evidenceId}"]`).count()).toBe(1);
    await panel.getByText('还没有生成过公示脱敏副本。').waitFor();
    await panel.getByLabel('另需遮蔽的姓名（每行一个，可选）').fill('王五');
    const download = custodian.waitForEvent('download');
    await panel.getByRole('button', { name: '生成并下载脱敏副本' }).click();
    const file = await download;
    const name = file.suggestedFilename();
    expect(name).toMatch(new RegExp(`^disclosure-${disclosed}-[0-9a-f]{8}\\.zip$`));
    const dir = join(env.dir, 'browser-disclosure');
    mkdirSync(dir, { recursive: true });
    await file.saveAs(join(dir, name));
    const zipped = readFileSync(join(dir, name));
    unzip(join(dir, name), dir);
    const root = join(dir, name.replace(/\.zip$/, ''));
    const entries = walk(root).map((f) => f.slice(root.length + 1)).sort();
    expect(entries).toEqual(['README.txt', `clips/${evidenceId}.mp4`, 'disclosure.json', 'manifest-sha256.txt']);
    for (const entry of entries) {
      const text = readFileSync(join(root, entry)).toString('utf8');
      for (const secret of secrets) {
        expect(text, `${entry} holds ${secret}`).not.toContain(secret);
        expect(entry).not.toContain(secret);
      }
    }
    for (const secret of secrets) expect(zipped.includes(Buffer.from(secret, 'utf8')), `the zip holds ${secret}`).toBe(false);
    const meta = JSON.parse(readFileSync(join(root, 'disclosure.json'), 'utf8')) as { approval: string; items: Array<{ subject: string; source: { redacted: boolean } }> };
    expect(meta.approval).toBe(request!.id);
    expect(meta.items[0]!.source.redacted).toBe(false);
    expect(meta.items[0]!.subject).toContain('张某');
    await panel.getByText(/^已下载：/).waitFor();

    // The copy made is listed from its DISCLOSED event: who, when, the manifest's and the file's hashes.
    const made = panel.getByTestId('disclosures').locator('li[data-disclosure]');
    await made.waitFor();
    const manifestSha = createHash('sha256').update(readFileSync(join(root, 'manifest-sha256.txt'))).digest('hex');
    const clipSha = createHash('sha256').update(readFileSync(join(root, 'clips', `${evidenceId}.mp4`))).digest('hex');
    const listed = await made.innerText();
    for (const s of ['li.na', '1 个文件', manifestSha, clipSha]) expect(listed).toContain(s);
    const events = (await rt.ledger.eventsFor({ evidenceId })).filter((e) => e.type === 'DISCLOSED');
    expect(events.map((e) => [e.details.approvalId, e.details.manifestSha256])).toEqual([[request!.id, manifestSha]]);
    await panel.evaluate((el) => el.scrollIntoView());
    await shot(custodian, 'case-disclosure');

    // An officer sees the case, not the panel (and the API refuses the preview).
    const officer = await pageFor();
    await login(officer, 'zhang.wei');
    await officer.goto(`${base}/cases/${disclosed}`);
    await officer.locator('.case-timeline li.item').waitFor();
    expect(await officer.getByRole('region', { name: '公示脱敏副本' }).count()).toBe(0);
    expect(await officer.evaluate(async (u) => (await fetch(u)).status, `/api/v1/cases/${disclosed}/disclosure/preview`)).toBe(403);
  }, 300_000);

  it('a document uploaded on the case page joins the case timeline', async () => {
    const page = await pageFor();
    await login(page, 'li.na');
    await page.goto(`${base}/cases/${CASE}`);
    await page.locator('.case-timeline li.item').waitFor();
    const pdf = join(env.dir, '现场检查笔录.pdf');
    writeFileSync(pdf, '%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    await page.locator('input[name="document"]').setInputFiles(pdf);
    await page.getByText('已上传：现场检查笔录.pdf').waitFor();
    await page.locator('.case-timeline li.doc', { hasText: '现场检查笔录.pdf' }).waitFor();
    await shot(page, 'case');
    // The case's evidence package, downloaded by the browser: a zipped bag that validates and
    // keeps the case's text record with its AV records.
    await page.getByLabel('导出事由（必填）').fill('移送法制审核');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: '导出', exact: true }).click();
    const file = await download;
    const name = file.suggestedFilename();
    expect(name).toMatch(new RegExp(`^${CASE}-[0-9a-f]{8}\\.zip$`));
    const dir = join(env.dir, 'browser-export');
    mkdirSync(dir, { recursive: true });
    await file.saveAs(join(dir, name));
    unzip(join(dir, name), dir);
    const bag = join(dir, name.replace(/\.zip$/, ''));
    expect((await bagitValidate(bag)).code).toBe(0);
    const packaged = JSON.parse(readFileSync(join(bag, 'data', 'evidence.json'), 'utf8')) as { documents: Array<{ name: string; file: string }> };
    expect(packaged.documents.map((d) => d.name)).toEqual(['现场检查笔录.pdf']);
    expect(readFileSync(join(bag, packaged.documents[0]!.file), 'utf8')).toMatch(/^%PDF-1\.7/);
    await page.getByText(/^已导出：/).waitFor();

    // The case's action ended three days ago; the custodian records it, then archives the case.
    const ended = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('执法结束日期').fill(ended);
    await page.getByRole('button', { name: '登记执法结束' }).click();
    await page.getByTestId('case-state').filter({ hasText: '执法已结束，待归档' }).waitFor();
    await page.getByText(/^须于 .+ 前归档$/).waitFor();
    await page.getByLabel('事由', { exact: true }).fill('结案归档');
    await page.getByRole('button', { name: '归档', exact: true }).click();
    await page.getByTestId('case-state').filter({ hasText: '已归档' }).waitFor();
    const archived = await rt.retention.cases([CASE]);
    expect(archived[0]).toMatchObject({ state: 'archived' });
    expect(archived[0]!.archiveKey).toMatch(/^case-archives\//);
    await shot(page, 'case');

    // Another case ended 40 days ago and not archived: her home page says so first.
    await rt.lifecycle.end('YB-SZ-2026-100', new Date(Date.now() - 40 * 86_400_000), 'li.na');
    await page.goto(`${base}/docks`);
    await page.getByTestId('overdue-cases').getByText('已超期 10 天').waitFor();
    expect(await page.getByTestId('overdue-cases').locator('a').allInnerTexts()).toEqual(['YB-SZ-2026-100']);
    // Records still missing a field: what the API says for her units, a line per unit and per officer.
    const missing = await page.evaluate(async () => ((await (await fetch('/api/v1/preservation/overdue')).json()) as { missingFields: { byUnit: unknown[]; byOfficer: unknown[] } }).missingFields);
    const lines = missing.byUnit.length + missing.byOfficer.length;
    if (lines === 0) await page.getByText('没有缺项的记录').waitFor();
    else expect(await page.getByTestId('missing-fields').locator('li').count()).toBe(lines);
    await page.getByTestId('fixity-progress').waitFor();
    expect(await page.getByTestId('fixity-progress').innerText()).toMatch(/^(本周期已检查 \d+ \/ \d+ 件|上次周期于 .+ 完成，共 \d+ 件|尚未完成检查周期)$/);
    await shot(page, 'keeping');
  });

  it('switches to English and back, remembering the choice', async () => {
    const page = await pageFor();
    await login(page, 'admin');
    await page.goto(`${base}/admin`);
    await page.locator('table.data').first().waitFor();
    await shot(page, 'admin');
    await page.getByRole('button', { name: '切换语言' }).click();
    await page.getByRole('link', { name: 'Administration' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.reload();
    await page.getByRole('link', { name: 'Administration' }).waitFor();
    await shot(page, 'admin-en');
    await page.getByRole('button', { name: 'Switch language' }).click();
    await page.getByRole('link', { name: '系统管理' }).waitFor();
  });

  it('keeps text contrast at 4.5:1 (3:1 for large text) and reaches the content by keyboard', async () => {
    const page = await pageFor();
    await login(page, 'li.na');
    // The first Tab lands on the skip link, which leads past the navigation.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('跳到正文');
    const failures: string[] = [];
    // The recipient's page (the case's share, open) is checked too.
    for (const path of ['/docks', `/search?case=${CASE}`, `/evidence/${ids.other}`, `/cases/${CASE}`, '/approvals', '/audit', '/reports', `/share/${ids.shareToken}`]) {
      await page.goto(`${base}${path}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      const bad = await page.evaluate(() => {
        type Rgba = [number, number, number, number];
        const parse = (c: string): Rgba => {
          const m = /rgba?\(([^)]+)\)/.exec(c);
          if (!m) return [0, 0, 0, 0];
          const [r, g, b, a] = m[1]!.split(',').map((x) => Number.parseFloat(x));
          return [r!, g!, b!, a ?? 1];
        };
        const over = (top: Rgba, under: Rgba): Rgba => [0, 1, 2].map((i) => top[i]! * top[3] + under[i]! * (1 - top[3])).concat(1) as Rgba;
        const lum = ([r, g, b]: Rgba) =>
          [r, g, b].map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)).reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i]!, 0);
        const background = (el: Element | null): Rgba => {
          const layers: Rgba[] = [];
          for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] >= 1) break;
          }
          return layers.reduceRight<Rgba>((under, top) => over(top, under), [255, 255, 255, 1]);
        };
        const out: string[] = [];
        let checked = 0;
        for (const el of document.querySelectorAll('body *')) {
          const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '');
          if (!own || el.closest('[disabled], video, svg, .skip') || el.getClientRects().length === 0) continue;
          const style = getComputedStyle(el);
          if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
          const bg = background(el);
          const fg = over(parse(style.color), bg);
          const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
          const ratio = (hi! + 0.05) / (lo! + 0.05);
          const size = Number.parseFloat(style.fontSize);
          const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
          checked += 1;
          if (ratio < (large ? 3 : 4.5)) out.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent!.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
        }
        return { out, checked };
      });
      // The check saw the page's text (a page of nothing would pass any threshold).
      expect(bad.checked, path).toBeGreaterThan(10);
      failures.push(...bad.out.map((b) => `${path}: ${b}`));
    }
    expect(failures).toEqual([]);
  });

  it('an expired session returns to the login page, then to where the user was', async () => {
    const page = await pageFor();
    await login(page, 'li.na');
    await page.goto(`${base}/search?case=${CASE}`);
    await page.locator('tr[data-evidence]').first().waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'evidock_session')!;
    await rt.identity.logout(cookie.value);
    await page.locator(`tr[data-evidence="${ids.other}"] a`).first().click();
    await page.waitForURL(/\/login\?expired=1/);
    await page.getByText('登录已过期，请重新登录').waitFor();
    await page.getByLabel('用户名').fill('li.na');
    await page.getByLabel('密码').fill(READY);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL(new RegExp(`/evidence/${ids.other}`));
  });
});
