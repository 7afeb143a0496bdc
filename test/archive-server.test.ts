import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_ACTIONS, decide, type AccessAction, type EvidenceAction, type Role } from '../archive/access-policy.ts';
import { bagName } from '../archive/case-export.service.ts';
import { relationOf, type Principal } from '../archive/principal.ts';
import { verifyDelivery } from '../archive/webhook-signature.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import type { EvidenceRow } from '../storage/catalog.repository.ts';
import { QueueName, SERVER_QUEUES, SHARED_QUEUES } from '../workers/job.types.ts';
import { bagitValidate, unzip } from './support/package-tools.ts';
import { makeTestCertificates } from './support/private-services.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * The archive server against the real stack: PostgreSQL, Redis, MinIO, ffmpeg proxies. Requests
 * go through Fastify's whole pipeline (inject), so schemas, hooks and error handling are the
 * server's own.
 */

const PASSWORD = 'Archive-Test-2026!';
const CASE = 'YB-SZ-2026-001';

interface Who {
  name: string;
  role: Role;
  headers: Record<string, string>;
  principal: Principal;
}

describe('archive server', () => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  const who = new Map<string, Who>();
  /** own: recorded by officer O1 (SZ); unit: by O2 (SZ); outside: by O3 (GZ). */
  const items: Record<'own' | 'unit' | 'outside', EvidenceRow> = {} as never;

  const call = (w: Who | null, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: method as 'GET', url: `/api/v1${url}`, headers: { ...(w?.headers ?? {}), ...headers }, ...(body !== undefined ? { payload: body as object } : {}) });

  async function login(name: string): Promise<Record<string, string>> {
    let res = await call(null, 'POST', '/auth/login', { name, password: PASSWORD });
    expect(res.statusCode).toBe(200);
    const cookie = `evidock_session=${res.cookies.find((c) => c.name === 'evidock_session')!.value}`;
    const csrf = res.json<{ csrfToken: string }>().csrfToken;
    // First login: the password must be changed before anything else.
    res = await app.inject({ method: 'GET', url: '/api/v1/evidence', headers: { cookie } });
    expect(res.json()).toMatchObject({ error: { code: 'PASSWORD_CHANGE_REQUIRED' } });
    res = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: { cookie, 'x-csrf-token': csrf }, payload: { current: PASSWORD, next: `${PASSWORD}x` } });
    expect(res.statusCode).toBe(200);
    return { cookie, 'x-csrf-token': csrf };
  }

  beforeAll(async () => {
    env = await createTestEnv('archive', {
      media: { proxyPreset: 'ultrafast', proxyCrf: 35, transcodeConcurrency: 2 },
      webhooks: { attempts: 3, backoffSeconds: 0.2, timeoutSeconds: 2 },
      server: { documentMaxMiB: 1 },
    });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES, ...SERVER_QUEUES]);
    const by = 'test-admin';
    await rt.identity.addUnit({ id: 'GD', name: '广东省医疗保障局', parentId: null }, by);
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: 'GD' }, by);
    await rt.identity.addUnit({ id: 'GZ', name: '广州市医疗保障局', parentId: 'GD' }, by);
    const users: Array<[string, Role, string[], string | null]> = [
      ['officer1', 'officer', ['SZ'], 'O1'],
      ['custodian', 'custodian', ['SZ'], null],
      ['custodian-gz', 'custodian', ['GZ'], null],
      ['supervisor', 'supervisor', ['SZ'], null],
      ['auditor', 'auditor', ['SZ'], null],
      ['admin', 'admin', ['GD'], null],
    ];
    for (const [name, role, unitIds, officerId] of users) await rt.identity.addUser({ name, role, unitIds, officerId, password: PASSWORD }, by);
    app = await buildArchiveServer(rt);
    for (const [name, role] of users) {
      const headers = await login(name);
      who.set(name, { name, role, headers, principal: (await rt.identity.session(headers.cookie!.split('=')[1]!))!.principal });
    }
    const key = await rt.identity.createKey({ name: 'cms', role: 'case-system', unitIds: ['SZ'] }, by);
    who.set('cms', { name: 'cms', role: 'case-system', headers: { authorization: `Bearer ${key.key}` }, principal: (await rt.identity.authenticateKey(key.key))! });

    const recorders: Array<[keyof typeof items, string, string, string]> = [
      ['own', 'ZFYA01', 'O1', 'SZ'],
      ['unit', 'ZFYB02', 'O2', 'SZ'],
      ['outside', 'ZFYC03', 'O3', 'GZ'],
    ];
    for (const [rel, serial, officer, unitId] of recorders) {
      await rt.identity.registerRecorder({ serial, officerId: officer, unitId }, by);
      const root = join(env.dir, serial);
      mkdirSync(root, { recursive: true });
      await makeRecorderFootage(root, { files: 1, seconds: 2, serial, officer, audio: false, photo: false, width: 320, height: 180, seed: serial.length + rel.length });
      const result = await importFolder(rt, root, { serial, case: [CASE], subject: '某定点药店', place: '深圳市福田区', json: true });
      items[rel] = (await rt.catalog.getEvidence(result.files[0]!.evidenceId!))!;
    }
    // Playback proxies exist before the matrix asks for them.
    await eventually(async () => {
      for (const item of Object.values(items)) if (!(await rt.catalog.derivativesOf(item.id)).some((d) => d.kind === 'proxy')) return undefined;
      return true;
    }, 180_000, 'proxies of the three recordings');
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  it('refuses callers without credentials, with a bad key, and unsafe cookie requests without the CSRF token', async () => {
    expect((await call(null, 'GET', '/evidence')).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', messageZh: '请先登录' } });
    expect((await call(null, 'GET', '/evidence')).statusCode).toBe(401);
    const bad = await call(null, 'GET', '/evidence', undefined, { authorization: 'Bearer evk_00000000000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect([bad.statusCode, bad.json().error.code]).toEqual([401, 'BAD_API_KEY']);
    const custodian = who.get('custodian')!;
    const noCsrf = await call({ ...custodian, headers: { cookie: custodian.headers.cookie! } }, 'PATCH', `/evidence/${items.unit.id}`, { subject: 'x', reason: 'test' });
    expect([noCsrf.statusCode, noCsrf.json().error.code]).toEqual([403, 'CSRF']);
  });

  it('lists every problem of a bad request, and answers unknown routes with a JSON 404', async () => {
    const res = await call(who.get('custodian')!, 'GET', '/evidence?limit=500&from=yesterday&colour=red');
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { code: string; problems: string[] } }>();
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.problems).toHaveLength(3);
    expect(error.problems.join('\n')).toMatch(/colour/);
    const missing = await call(who.get('custodian')!, 'GET', '/nowhere');
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });

  it('shows an officer only its own recordings, a custodian its units, and pages with a cursor', async () => {
    const officer = (await call(who.get('officer1')!, 'GET', '/evidence')).json<{ items: Array<{ evidenceId: string }> }>();
    expect(officer.items.map((i) => i.evidenceId)).toEqual([items.own.id]);
    const custodian = (await call(who.get('custodian')!, 'GET', `/evidence?case=${CASE}`)).json<{ items: Array<{ evidenceId: string; missing: string[]; unit: string; thumbnailUrl: string | null }> }>();
    expect(custodian.items.map((i) => i.evidenceId).sort()).toEqual([items.own.id, items.unit.id].sort());
    expect(custodian.items.every((i) => i.unit === 'SZ' && i.missing.length === 0)).toBe(true);
    const first = (await call(who.get('custodian')!, 'GET', '/evidence?limit=1')).json<{ items: Array<{ evidenceId: string }>; next: string }>();
    expect(first.items).toHaveLength(1);
    expect(first.next).toEqual(expect.any(String));
    const second = (await call(who.get('custodian')!, 'GET', `/evidence?limit=1&cursor=${first.next}`)).json<{ items: Array<{ evidenceId: string }>; next: string | null }>();
    expect(second.items).toHaveLength(1);
    expect(second.items[0]!.evidenceId).not.toBe(first.items[0]!.evidenceId);
    // Two items, two pages: the last says there is no more.
    expect(second.next).toBeNull();
    const forged = await call(who.get('custodian')!, 'GET', '/evidence?limit=1&cursor=not-a-cursor');
    expect([forged.statusCode, forged.json().error.code]).toEqual([400, 'INVALID_REQUEST']);
    // A province-level root sees both cities; the GZ custodian only its own.
    const gz = (await call(who.get('custodian-gz')!, 'GET', '/evidence')).json<{ items: Array<{ evidenceId: string }> }>();
    expect(gz.items.map((i) => i.evidenceId)).toEqual([items.outside.id]);
    const text = (await call(who.get('custodian')!, 'GET', `/evidence?subject=${encodeURIComponent('药店')}&place=${encodeURIComponent('福田')}`)).json<{ items: unknown[] }>();
    expect(text.items).toHaveLength(2);
  });

  it('streams a proxy with range requests whose bytes are the stored object', async () => {
    const proxy = (await rt.catalog.derivativesOf(items.unit.id)).find((d) => d.kind === 'proxy')!;
    const chunks: Buffer[] = [];
    for await (const chunk of await rt.objects.read('derivatives', proxy.objectKey)) chunks.push(chunk as Buffer);
    const stored = Buffer.concat(chunks);
    const custodian = who.get('custodian')!;
    const start = Math.floor(stored.length / 3);
    const res = await call(custodian, 'GET', `/evidence/${items.unit.id}/proxy`, undefined, { range: `bytes=${start}-${start + 999}` });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${start + 999}/${stored.length}`);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.rawPayload).toEqual(stored.subarray(start, start + 1000));
    const whole = await call(custodian, 'GET', `/evidence/${items.unit.id}/proxy`);
    expect([whole.statusCode, whole.rawPayload.length]).toEqual([200, stored.length]);
    const stale = await call(custodian, 'GET', `/evidence/${items.unit.id}/proxy`, undefined, { range: 'bytes=0-9', 'if-range': '"not-the-etag"' });
    expect(stale.statusCode).toBe(200);
    const past = await call(custodian, 'GET', `/evidence/${items.unit.id}/proxy`, undefined, { range: `bytes=${stored.length}-` });
    expect([past.statusCode, past.headers['content-range']]).toEqual([416, `bytes */${stored.length}`]);
  });

  // One table (archive/access-policy.ts) decides; the server must agree for every role,
  // action and relation, before and after an approved request.
  describe('role matrix', () => {
    const ACTIONS: EvidenceAction[] = ['view', 'play', 'download', 'verify', 'tag', 'link'];
    const principals = ['officer1', 'custodian', 'supervisor', 'auditor', 'cms', 'admin'];

    const request = (w: Who, action: EvidenceAction, item: EvidenceRow) => {
      switch (action) {
        case 'view':
          return call(w, 'GET', `/evidence/${item.id}`);
        case 'play':
          return call(w, 'GET', `/evidence/${item.id}/proxy`, undefined, { range: 'bytes=0-99' });
        case 'download':
          return call(w, 'GET', `/evidence/${item.id}/original`, undefined, { range: 'bytes=0-15' });
        case 'verify':
          return call(w, 'POST', `/evidence/${item.id}/verify`);
        case 'tag':
          return call(w, 'PATCH', `/evidence/${item.id}`, { subject: '某定点药店（复核）', reason: '核对现场记录' });
        case 'link':
          return call(w, 'PUT', `/cases/YB-MATRIX/links`, { evidenceIds: [item.id] });
        default:
          throw new Error(action);
      }
    };

    const expected = (outcome: string): [number[], string | null] => {
      switch (outcome) {
        case 'allow':
          return [[200, 206], null];
        case 'approval-required':
          return [[403], 'APPROVAL_REQUIRED'];
        case 'deny':
          return [[403], 'FORBIDDEN'];
        default:
          return [[404], 'EVIDENCE_NOT_FOUND'];
      }
    };

    async function check(approved: boolean): Promise<string[]> {
      const wrong: string[] = [];
      const seen = new Set<string>();
      for (const name of principals) {
        const w = who.get(name)!;
        for (const [, item] of Object.entries(items)) {
          const relation = relationOf(w.principal, item);
          const grants = approved && w.role !== 'admin' ? new Set<AccessAction>(ACCESS_ACTIONS) : new Set<AccessAction>();
          for (const action of ACTIONS) {
            const outcome = decide(w.role, action, relation, grants).outcome;
            seen.add(outcome);
            const [statuses, code] = expected(outcome);
            const res = await request(w, action, item);
            const got = res.statusCode >= 400 ? (res.json() as { error: { code: string } }).error.code : null;
            if (!statuses.includes(res.statusCode) || got !== code) wrong.push(`${name} ${action} ${relation}${approved ? ' approved' : ''}: expected ${outcome}, got ${res.statusCode} ${got ?? ''}`);
          }
        }
      }
      // The table is not vacuous: every kind of answer is checked (with every access approved,
      // none is left needing approval; admin still sees nothing).
      expect([...seen].sort()).toEqual(approved ? ['allow', 'deny', 'hidden'] : ['allow', 'approval-required', 'deny', 'hidden']);
      return wrong;
    }

    it('matches the policy without approvals', async () => {
      expect(await check(false)).toEqual([]);
    }, 120_000);

    it('matches the policy once each caller is approved for view, play, download and export of every item', async () => {
      for (const name of principals.filter((n) => n !== 'admin')) {
        const w = who.get(name)!;
        for (const item of Object.values(items)) {
          const filed = await call(w, 'POST', '/access-requests', { evidenceId: item.id, actions: [...ACCESS_ACTIONS], purpose: '复核执法过程' });
          expect(filed.statusCode).toBe(201);
          // A custodian of the item's unit sees the request waiting and decides it (the root
          // custodian covers both cities, and is not the requester of any of these).
          const approver = await rootCustodian();
          const id = filed.json<{ id: string }>().id;
          const waiting = (await call(approver, 'GET', '/access-requests')).json<{ waiting: Array<{ id: string }> }>().waiting;
          expect(waiting.map((r) => r.id)).toContain(id);
          const decided = await call(approver, 'POST', `/access-requests/${id}/decision`, { approve: true, reason: '同意调阅', expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
          expect(decided.json()).toMatchObject({ state: 'approved', decidedBy: approver.name });
        }
      }
      expect(await check(true)).toEqual([]);
    }, 120_000);

    let root: Who | null = null;
    async function rootCustodian(): Promise<Who> {
      if (root) return root;
      await rt.identity.addUser({ name: 'custodian-root', role: 'custodian', unitIds: ['GD'], password: PASSWORD }, 'test-admin');
      const headers = await login('custodian-root');
      root = { name: 'custodian-root', role: 'custodian', headers, principal: (await rt.identity.session(headers.cookie!.split('=')[1]!))!.principal };
      return root;
    }
  });

  it('records approvals and every look in the custody chain, and seals the access log', async () => {
    const auditor = who.get('auditor')!;
    const log = (await call(auditor, 'GET', `/access-log?evidenceId=${items.unit.id}&limit=1000`)).json<{ records: Array<{ action: string; principal: string; approvalId: string | null }> }>();
    expect(log.records.some((r) => r.action === 'play' && r.principal === 'auditor' && r.approvalId !== null)).toBe(true);
    expect(log.records.some((r) => r.action === 'view' && r.principal === 'custodian' && r.approvalId === null)).toBe(true);
    let sealed = 0;
    while ((await rt.access.seal()) > 0) sealed++;
    expect(sealed).toBeGreaterThan(0);
    expect(await rt.access.unsealedCount()).toBe(0);
    const events = await rt.ledger.eventsFor({ evidenceId: items.unit.id });
    const types = events.map((e) => e.type);
    for (const t of ['ACCESS_REQUESTED', 'ACCESS_APPROVED', 'ACCESSED', 'TAGGED', 'FIXITY_CHECKED', 'LINKED']) expect(types).toContain(t);
    const accessed = events.filter((e) => e.type === 'ACCESSED');
    expect(accessed.flatMap((e) => Object.keys(e.details.actions as object))).toEqual(expect.arrayContaining(['view', 'play', 'download']));
    const tagged = events.find((e) => e.type === 'TAGGED')!;
    expect(tagged.details).toMatchObject({ by: 'custodian', reason: '核对现场记录' });
    expect(tagged.actor).toEqual({ kind: 'user', id: 'custodian' });
    const verification = await rt.ledger.verify();
    expect(verification.problems).toEqual([]);
  });

  it('links idempotently, unlinks with a reason, and shows the case with its documents and suggested recordings', async () => {
    const cms = who.get('cms')!;
    const body = { evidenceIds: [items.own.id, items.unit.id] };
    const first = (await call(cms, 'PUT', '/cases/YB-CMS-7/links', body)).json<{ linked: string[]; unchanged: string[] }>();
    expect(first.linked.sort()).toEqual(body.evidenceIds.sort());
    const again = (await call(cms, 'PUT', '/cases/YB-CMS-7/links', body)).json<{ linked: string[]; unchanged: string[] }>();
    expect(again).toEqual({ linked: [], unchanged: expect.arrayContaining(body.evidenceIds) });
    // An item of another unit (and no approval on it): not found, and nothing of the request is applied.
    const outside = await call(who.get('custodian-gz')!, 'PUT', '/cases/YB-GZ-7/links', { evidenceIds: [items.outside.id, items.unit.id] });
    expect([outside.statusCode, outside.json().error.code]).toEqual([404, 'EVIDENCE_NOT_FOUND']);
    expect((await rt.catalog.getEvidence(items.outside.id))!.caseNumbers).not.toContain('YB-GZ-7');
    const noReason = await call(cms, 'DELETE', '/cases/YB-CMS-7/links', { evidenceIds: [items.own.id] });
    expect(noReason.statusCode).toBe(400);
    const unlinked = (await call(cms, 'DELETE', '/cases/YB-CMS-7/links', { evidenceIds: [items.own.id], reason: '关联错误' })).json<{ unlinked: string[] }>();
    expect(unlinked.unlinked).toEqual([items.own.id]);

    // An action of officer O2 around its recording suggests it; the case system confirms.
    const start = items.unit.captureStart!;
    const action = await call(cms, 'POST', '/cases/YB-CMS-7/actions', {
      officerIds: ['O2', 'O1'],
      startsAt: new Date(start.getTime() - 10 * 60_000).toISOString(),
      endsAt: new Date(start.getTime() + 10 * 60_000).toISOString(),
      subject: '某定点药店',
      place: '深圳市福田区',
    });
    expect(action.statusCode).toBe(201);
    const created = action.json<{ action: { id: string }; suggested: string[] }>();
    expect(created.suggested.sort()).toEqual([items.own.id, items.unit.id].sort());
    const confirmed = await call(cms, 'POST', `/cases/YB-CMS-7/actions/${created.action.id}/matches/${items.own.id}`, { confirm: true, reason: '执法过程记录' });
    expect(confirmed.json()).toMatchObject({ state: 'confirmed', decidedBy: 'cms' });
    const twice = await call(cms, 'POST', `/cases/YB-CMS-7/actions/${created.action.id}/matches/${items.own.id}`, { confirm: false });
    expect(twice.statusCode).toBe(409);

    // A document, streamed; then the bad uploads, none of which leaves anything behind.
    const custodian = who.get('custodian')!;
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(50_000, 0x20), Buffer.from('\n%%EOF\n')]);
    const up = await call(custodian, 'POST', `/cases/YB-CMS-7/documents?name=${encodeURIComponent('询问笔录.pdf')}`, pdf, { 'content-type': 'application/pdf' });
    expect(up.statusCode).toBe(201);
    const doc = up.json<{ id: string; sha256: string; size: number; url: string }>();
    expect(doc.size).toBe(pdf.length);
    const fetched = await call(custodian, 'GET', doc.url.replace('/api/v1', ''));
    expect(fetched.rawPayload).toEqual(pdf);
    const exe = await call(custodian, 'POST', '/cases/YB-CMS-7/documents?name=a.pdf', Buffer.from('MZ\x90\x00 not a pdf'), { 'content-type': 'application/pdf' });
    expect([exe.statusCode, exe.json().error.code]).toEqual([415, 'TYPE_MISMATCH']);
    const big = await call(custodian, 'POST', '/cases/YB-CMS-7/documents?name=big.pdf', Buffer.concat([Buffer.from('%PDF-'), Buffer.alloc(1024 * 1024)]), { 'content-type': 'application/pdf' });
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'TOO_LARGE']);
    const evil = await call(custodian, 'POST', `/cases/YB-CMS-7/documents?name=${encodeURIComponent('../../etc/passwd')}`, pdf, { 'content-type': 'application/pdf' });
    expect(evil.statusCode).toBe(400);

    const view = (await call(custodian, 'GET', '/cases/YB-CMS-7')).json<{ items: Array<{ evidenceId: string }>; documents: Array<{ id: string }>; actions: Array<{ matches: Array<{ evidenceId: string; state: string }> }> }>();
    expect(view.items.map((i) => i.evidenceId).sort()).toEqual([items.own.id, items.unit.id].sort());
    expect(view.documents.map((d) => d.id)).toEqual([doc.id]);
    expect(view.actions[0]!.matches.find((m) => m.evidenceId === items.own.id)!.state).toBe('confirmed');
    expect((await call(who.get('custodian-gz')!, 'GET', '/cases/YB-CMS-7')).statusCode).toBe(404);
    const added = (await rt.ledger.page(0, 10_000)).events.filter((e) => e.type === 'DOCUMENT_ADDED');
    expect(added).toHaveLength(1);
    expect(added[0]!.details).toMatchObject({ documentId: doc.id, sha256: doc.sha256, caseNumber: 'YB-CMS-7' });
  });

  it('delivers signed webhooks with retries, the same delivery id each time, and gives up on a receiver that stays down', async () => {
    const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
    let failuresLeft = 2;
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = failuresLeft-- > 0 ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const port = (receiver.address() as AddressInfo).port;
    const cms = who.get('cms')!;
    try {
      const sub = await call(cms, 'POST', '/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['evidence.linked', 'evidence.tagged'] });
      expect(sub.statusCode).toBe(201);
      const hook = sub.json<{ id: string; secret: string }>();
      const dead = (await call(cms, 'POST', '/webhooks', { url: 'http://127.0.0.1:9/never', events: ['evidence.linked'] })).json<{ id: string }>();
      expect((await call(cms, 'POST', '/webhooks', { url: 'ftp://example.org/x', events: ['nope'] })).json().error.problems).toHaveLength(2);

      expect((await call(cms, 'PUT', '/cases/YB-HOOK-1/links', { evidenceIds: [items.unit.id] })).statusCode).toBe(200);
      const deliveries = await eventually(async () => {
        const list = (await call(cms, 'GET', `/webhooks/${hook.id}/deliveries`)).json<Array<{ id: string; state: string; attempts: number }>>();
        return list.length === 1 && list[0]!.state === 'delivered' ? list : undefined;
      }, 30_000, 'the webhook delivered');
      expect(deliveries[0]!.attempts).toBe(3);
      expect(received).toHaveLength(3);
      expect(new Set(received.map((r) => r.headers['x-evidock-delivery']))).toEqual(new Set([deliveries[0]!.id]));
      for (const r of received) expect(verifyDelivery(hook.secret, String(r.headers['x-evidock-signature']), r.body, Math.floor(Date.now() / 1000))).toBe(true);
      expect(verifyDelivery('wrong-secret', String(received[0]!.headers['x-evidock-signature']), received[0]!.body, Math.floor(Date.now() / 1000))).toBe(false);
      expect(JSON.parse(received[2]!.body)).toMatchObject({ id: deliveries[0]!.id, event: 'evidence.linked', data: { evidenceId: items.unit.id, caseNumber: 'YB-HOOK-1' } });

      const failed = await eventually(async () => {
        const list = (await call(cms, 'GET', `/webhooks/${dead.id}/deliveries`)).json<Array<{ state: string; attempts: number; lastError: string }>>();
        return list[0]?.state === 'failed' ? list : undefined;
      }, 30_000, 'the dead receiver given up on');
      expect(failed[0]!.attempts).toBe(3);
      // Another key does not see this key's subscriptions.
      expect((await call(who.get('custodian')!, 'GET', `/webhooks/${hook.id}/deliveries`)).statusCode).toBe(404);
    } finally {
      receiver.close();
    }
  }, 60_000);

  it('locks an account after repeated wrong passwords, for every server, and says when to try again', async () => {
    await rt.identity.addUser({ name: 'target', role: 'custodian', unitIds: ['SZ'], password: PASSWORD }, 'test-admin');
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push((await call(null, 'POST', '/auth/login', { name: 'target', password: 'wrong-Password-1' })).json().error.code);
    expect(codes).toEqual(['BAD_CREDENTIALS', 'BAD_CREDENTIALS', 'BAD_CREDENTIALS', 'BAD_CREDENTIALS', 'ACCOUNT_LOCKED', 'ACCOUNT_LOCKED']);
    const right = await call(null, 'POST', '/auth/login', { name: 'target', password: PASSWORD });
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(60);
    // A second server over the same database refuses too.
    const other = await buildArchiveServer(rt);
    try {
      const res = await other.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name: 'target', password: PASSWORD } });
      expect(res.json().error.code).toBe('ACCOUNT_LOCKED');
    } finally {
      await other.close();
    }
  });

  it('names an access record edited or removed after it was sealed (evidock verify)', async () => {
    await rt.access.seal();
    expect((await rt.verify.accessSeals())).toEqual([]);
    const [first] = (await rt.db.query<{ id: string; sealed_seq: string }>('SELECT id, sealed_seq FROM access_log WHERE sealed_seq IS NOT NULL ORDER BY id LIMIT 1')).rows;
    await rt.db.query(`UPDATE access_log SET purpose = 'nothing to see' WHERE id = $1`, [first!.id]);
    const edited = await rt.verify.accessSeals();
    expect(edited.map((p) => [p.seq, p.kind])).toEqual([[Number(first!.sealed_seq), 'access-log-altered']]);
    await rt.db.query('DELETE FROM access_log WHERE id = $1', [first!.id]);
    const report = await rt.verify.run({ evidenceId: items.unit.id, rehash: false });
    expect(report.ok).toBe(false);
    expect(report.ledger.problems.filter((p) => p.kind === 'access-log-altered').map((p) => p.seq)).toEqual([Number(first!.sealed_seq)]);
  });

  it('serves HTTPS with the configured certificate, with Secure session cookies', async () => {
    const certs = makeTestCertificates(join(env.dir, 'tls'));
    const tlsRt = { ...rt, config: { ...rt.config, server: { ...rt.config.server, tls: { certFile: certs.certFile, keyFile: certs.keyFile } } } } as Runtime;
    const tlsApp = await buildArchiveServer(tlsRt);
    try {
      await tlsApp.listen({ host: '127.0.0.1', port: 0 });
      const port = (tlsApp.server.address() as AddressInfo).port;
      const ask = (path: string, method = 'GET', body?: string) =>
        new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolveAnswer, reject) => {
          const req = httpsRequest({ host: '127.0.0.1', port, path, method, ca: readFileSync(certs.caFile), headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolveAnswer({ status: res.statusCode!, headers: res.headers, body: text }));
          });
          req.on('error', reject);
          req.end(body);
        });
      expect((await ask('/api/v1/health')).status).toBe(200);
      await rt.identity.addUser({ name: 'tls-user', role: 'auditor', unitIds: ['SZ'], password: PASSWORD }, 'test-admin');
      const login = await ask('/api/v1/auth/login', 'POST', JSON.stringify({ name: 'tls-user', password: PASSWORD }));
      expect(login.status).toBe(200);
      expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; .*Secure; SameSite=Strict|HttpOnly.*Secure.*SameSite=Strict/);
      expect(login.headers['strict-transport-security']).toMatch(/max-age=/);
      // Plain HTTP to the TLS port gets no API answer.
      const plain = await fetch(`http://127.0.0.1:${port}/api/v1/health`).then((r) => r.status).catch(() => 'refused');
      expect(plain).not.toBe(200);
    } finally {
      await tlsApp.close();
    }
  });

  it('limits login attempts per client address', async () => {
    // A fresh server: its limiter (in memory here, Redis in `evidock serve`) has counted nothing.
    const fresh = await buildArchiveServer(rt);
    try {
      const codes: string[] = [];
      for (let i = 0; i < rt.config.server.loginRatePerMinute + 3; i++) {
        const res = await fresh.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name: `nobody-${i}`, password: 'Wrong-Guess-2026!' } });
        codes.push(res.json().error.code);
      }
      expect(codes.filter((c) => c === 'BAD_CREDENTIALS')).toHaveLength(rt.config.server.loginRatePerMinute);
      expect(codes.slice(-3)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    } finally {
      await fresh.close();
    }
  });

  it('serves an OpenAPI 3.1 document of every route, generated from the schemas', async () => {
    const doc = (await call(null, 'GET', '/openapi.json')).json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/api/v1/evidence', '/api/v1/evidence/{id}', '/api/v1/evidence/{id}/proxy', '/api/v1/cases/{caseNumber}/links', '/api/v1/access-requests/{id}/decision', '/api/v1/access-log', '/api/v1/webhooks', '/api/v1/docks', '/api/v1/reports', '/api/v1/health']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(Object.keys(doc.paths['/api/v1/cases/{caseNumber}/links']!).sort()).toEqual(['delete', 'put']);
    const health = await call(null, 'GET', '/health');
    expect(health.json()).toMatchObject({ status: 'ok', dependencies: { postgres: { ok: true }, redis: { ok: true }, minio: { ok: true } } });
  });

  it('shows the dock board and the unit-scoped report', async () => {
    const docks = (await call(who.get('custodian')!, 'GET', '/docks')).json<{ docks: Array<{ recorderSerial: string; safeToUndock: boolean; files: number }> }>().docks;
    expect(docks.map((d) => d.recorderSerial).sort()).toEqual(['ZFYA01', 'ZFYB02']);
    expect(docks.every((d) => d.safeToUndock && d.files === 1)).toBe(true);
    const officerDocks = (await call(who.get('officer1')!, 'GET', '/docks')).json<{ docks: Array<{ recorderSerial: string }> }>().docks;
    expect(officerDocks.map((d) => d.recorderSerial)).toEqual(['ZFYA01']);
    const report = (await call(who.get('custodian')!, 'GET', '/reports?quarter=2026-Q4&by=unit')).json<{ rows: Array<{ key: string; items: number }>; total: { items: number } }>();
    expect(report.rows).toEqual([expect.objectContaining({ key: 'SZ', items: 2 })]);
    expect(report.total.items).toBe(2);
    expect((await call(who.get('officer1')!, 'GET', '/reports?quarter=2026-Q4')).statusCode).toBe(403);
  });

  it('hands over the case as one zipped BagIt bag that validates, all of the case or nothing', async () => {
    const exported = async () => Number((await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM custody_events WHERE type = 'EXPORTED'`)).rows[0]!.n);
    // Callers of their own, without the approvals the role matrix granted the others.
    const fresh = async (name: string, role: Role, unit: string): Promise<Who> => {
      await rt.identity.addUser({ name, role, unitIds: [unit], password: PASSWORD }, 'test-admin');
      return { name, role, headers: await login(name), principal: null as never };
    };
    const before = await exported();
    // The city custodian may not export the Guangzhou item of the case: nothing is exported.
    const partial = await call(await fresh('custodian-sz2', 'custodian', 'SZ'), 'POST', `/cases/${encodeURIComponent(CASE)}/export`, { reason: '移送法制审核' });
    expect(partial.statusCode).toBe(403);
    expect(partial.json()).toMatchObject({ error: { code: 'CASE_NOT_EXPORTABLE' } });
    expect(partial.body).not.toContain(items.outside.id);
    // A supervisor needs an approval to copy.
    const supervisor = await call(await fresh('supervisor-gd', 'supervisor', 'GD'), 'POST', `/cases/${encodeURIComponent(CASE)}/export`, { reason: '移送法制审核' });
    expect(supervisor.statusCode).toBe(403);
    expect(supervisor.json()).toMatchObject({ error: { code: 'APPROVAL_REQUIRED' } });
    expect(await exported()).toBe(before);
    expect(readdirSync(join(rt.config.dataDir, 'exports'))).toEqual([]);

    const gd = await fresh('custodian-gd', 'custodian', 'GD');
    const res = await call(gd, 'POST', `/cases/${encodeURIComponent(CASE)}/export`, { reason: '移送法制审核', withProxies: true });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    const exportId = String(res.headers['x-evidock-export-id']);
    const bag = bagName(CASE, exportId);
    expect(String(res.headers['content-disposition'])).toContain(`filename*=UTF-8''${encodeURIComponent(`${bag}.zip`)}`);
    const dir = join(env.dir, `export-${exportId}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.zip'), res.rawPayload);
    unzip(join(dir, 'package.zip'), dir);
    // One folder, the bag, valid to the Library of Congress validator.
    const validated = await bagitValidate(join(dir, bag));
    expect(validated.output).toContain('is valid');
    expect(validated.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, bag, 'data', 'evidence.json'), 'utf8')) as { exportId: string; items: Array<{ evidenceId: string; sha256: string; derivatives: unknown[] }> };
    expect(manifest.exportId).toBe(exportId);
    expect(manifest.items.map((i) => i.evidenceId).sort()).toEqual(Object.values(items).map((i) => i.id).sort());
    expect(manifest.items.every((i) => i.derivatives.length === 1)).toBe(true);
    const events = await rt.db.query<{ details: { exportId: string; destination: string } }>(`SELECT details FROM custody_events WHERE type = 'EXPORTED' AND details->>'exportId' = $1`, [exportId]);
    expect(events.rows).toHaveLength(3);
    expect(events.rows[0]!.details.destination).toMatch(/^download by user custodian-gd from /);
    const logged = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM access_log WHERE action = 'export' AND principal_name = 'custodian-gd' AND purpose = '移送法制审核'`);
    expect(Number(logged.rows[0]!.n)).toBe(3);
    // The server's copy is gone once sent.
    await eventually(async () => (readdirSync(join(rt.config.dataDir, 'exports')).length === 0 ? true : undefined), 10_000, 'the sent export removed');

    // For a party granted a copy: the proxies again, watermarked, and the events name the recipient.
    const blank = await call(gd, 'POST', `/cases/${encodeURIComponent(CASE)}/export`, { reason: '复制给当事人', watermark: ' \u200B ' });
    expect(blank.statusCode).toBe(400);
    expect(blank.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
    const marked = await call(gd, 'POST', `/cases/${encodeURIComponent(CASE)}/export`, { reason: '复制给当事人', watermark: "Mallory: 律师's copy" });
    expect(marked.statusCode, marked.body.slice(0, 300)).toBe(200);
    const markedId = String(marked.headers['x-evidock-export-id']);
    const markedDir = join(env.dir, `export-${markedId}`);
    mkdirSync(markedDir, { recursive: true });
    writeFileSync(join(markedDir, 'package.zip'), marked.rawPayload);
    unzip(join(markedDir, 'package.zip'), markedDir);
    const markedBag = join(markedDir, bagName(CASE, markedId));
    expect((await bagitValidate(markedBag)).code).toBe(0);
    expect(readdirSync(join(markedBag, 'data', 'watermarked')).sort()).toEqual(Object.values(items).map((i) => `${i.id}.mp4`).sort());
    const markedEvents = await rt.db.query<{ details: { recipient: string; withProxies: boolean } }>(`SELECT details FROM custody_events WHERE type = 'EXPORTED' AND details->>'exportId' = $1`, [markedId]);
    expect(markedEvents.rows.map((r) => [r.details.recipient, r.details.withProxies])).toEqual([...Array(3)].map(() => ["Mallory: 律师's copy", true]));
  });

  it('lets a custodian hold and release the records of their units; purges only for a root custodian; views for supervisors', async () => {
    const custodian = who.get('custodian')!;
    const supervisor = who.get('supervisor')!;
    const held = await call(custodian, 'POST', `/evidence/${items.unit.id}/hold`, { on: true, reason: '行政复议中' });
    expect(held.statusCode, held.body).toBe(200);
    expect(held.json()).toMatchObject({ evidenceId: items.unit.id, legalHold: true, holdReason: '行政复议中' });
    expect(await rt.objects.legalHold('originals', items.unit.objectKey)).toBe(true);
    expect((await call(supervisor, 'GET', `/evidence/${items.unit.id}/retention`)).json()).toMatchObject({ evidenceId: items.unit.id, legalHold: true });
    // Outside the custodian's units the item does not exist; a supervisor changes nothing.
    expect((await call(custodian, 'POST', `/evidence/${items.outside.id}/hold`, { on: true, reason: '行政复议中' })).statusCode).toBe(404);
    expect((await call(supervisor, 'POST', `/evidence/${items.unit.id}/hold`, { on: false, reason: '复议结束' })).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const released = await call(custodian, 'POST', `/evidence/${items.unit.id}/hold`, { on: false, reason: '复议结束' });
    expect(released.json()).toMatchObject({ legalHold: false });
    expect(await rt.objects.legalHold('originals', items.unit.objectKey)).toBe(false);
    const types = (await rt.ledger.eventsFor({ evidenceId: items.unit.id })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['RETENTION_SET', 'LEGAL_HOLD_SET', 'LEGAL_HOLD_RELEASED']));

    // The case holds a Guangzhou record: a Shenzhen custodian may not end it.
    const end = await call(custodian, 'POST', `/cases/${encodeURIComponent(CASE)}/end`, { endedAt: new Date(Date.now() - 86_400_000).toISOString() });
    expect(end.statusCode).toBe(403);
    expect(end.json()).toMatchObject({ error: { code: 'RECORDS_OUTSIDE_UNITS' } });
    expect((await call(custodian, 'POST', '/purges', { reason: '保管期限届满' })).json()).toMatchObject({ error: { code: 'ROOT_SCOPE_REQUIRED' } });
    const overdue = await call(supervisor, 'GET', '/preservation/overdue');
    expect(overdue.statusCode).toBe(200);
    expect(overdue.json()).toMatchObject({ archiveDays: 30, cases: [], missingFields: { graceDays: 7, byOfficer: expect.any(Array), byUnit: expect.any(Array) } });
    expect((await call(who.get('officer1')!, 'GET', '/preservation/overdue')).statusCode).toBe(403);
    const fixity = await call(supervisor, 'GET', '/fixity');
    expect(fixity.statusCode, fixity.body).toBe(200);
    expect(fixity.json()).toMatchObject({ failures: [], oldestCheck: null });
    expect((await call(who.get('officer1')!, 'GET', '/fixity')).statusCode).toBe(403);
  });

  it('streams the dock board as server-sent events, each watcher seeing only its own scope', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    async function firstEvents(w: Who, count: number): Promise<string[]> {
      const res = await fetch(`${origin}/api/v1/docks/events`, { headers: w.headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      // Events are separated by a blank line; the board first, then changes or keep-alives.
      while (text.split('\n\n').length <= count) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      return text.split('\n\n').slice(0, count);
    }
    const [officerFirst] = await firstEvents(who.get('officer1')!, 1);
    expect(officerFirst).toMatch(/^retry: \d+\nevent: board\ndata: /);
    const officerBoard = JSON.parse(officerFirst!.slice(officerFirst!.indexOf('data: ') + 6)) as { docks: Array<{ recorderSerial: string }> };
    expect(officerBoard.docks.map((d) => d.recorderSerial)).toEqual(['ZFYA01']);
    const [first, second] = await firstEvents(who.get('custodian')!, 2);
    const board = JSON.parse(first!.slice(first!.indexOf('data: ') + 6)) as { docks: Array<{ recorderSerial: string; bytes: number; bytesAcquired: number }> };
    expect(board.docks.map((d) => d.recorderSerial).sort()).toEqual(['ZFYA01', 'ZFYB02']);
    // Every file is read off its recorder: the progress is whole.
    expect(board.docks.every((d) => d.bytes > 0 && d.bytesAcquired === d.bytes)).toBe(true);
    // Nothing changed since: the stream stays open with a keep-alive comment.
    expect(second).toBe(': keep-alive');
    expect((await fetch(`${origin}/api/v1/docks/events`)).status).toBe(401);
  });
});
