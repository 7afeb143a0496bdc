import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../archive/access.service.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { sealedForm } from '../archive/access-seal.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { createTestEnv, eventually, evidock, type TestEnv } from './support/test-env.ts';

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exit ${code}`))));
  });
}

/** Everything a custodian, a case system or an auditor can read back, in a comparable form. */
async function snapshot(rt: Runtime, env: TestEnv, ids: readonly string[]) {
  const search = await evidock(['search', '--json', '--limit', '1000'], env.childEnv);
  expect(search.code, search.stderr).toBe(0);
  const verify = await evidock(['verify', '--all', '--json'], env.childEnv);
  const items = [];
  for (const id of ids) {
    const show = await evidock(['show', id, '--json'], env.childEnv);
    expect(show.code, show.stderr).toBe(0);
    const parsed = JSON.parse(show.stdout) as { evidence: unknown; events: unknown[]; derivatives: Array<Record<string, unknown>> };
    items.push({
      evidence: parsed.evidence,
      events: parsed.events,
      // A derivative row's own id is the catalog's, not a fact about the recording.
      derivatives: parsed.derivatives.map(({ id: _id, createdAt: _at, ...rest }) => rest),
      retention: await rt.retention.get(id),
    });
  }
  const sessions = await rt.db.query(
    `SELECT id, recorder_serial, status, file_count, (SELECT array_agg(stage || ':' || coalesce(sha256, '') ORDER BY display_path) FROM session_files f WHERE f.session_id = s.id) AS files
       FROM dock_sessions s ORDER BY started_at, id`,
  );
  const access = await rt.db.query(`SELECT * FROM access_log ORDER BY id`);
  const users = await rt.db.query(`SELECT id, name, role, officer_id, disabled_at IS NOT NULL AS disabled FROM users ORDER BY name`);
  const units = await rt.db.query(`SELECT id, name, parent_id, path FROM units ORDER BY id`);
  const scopes = await rt.db.query(`SELECT * FROM principal_units ORDER BY principal_id, unit_id`);
  const keys = await rt.db.query(`SELECT id, name, role, secret_hash, revoked_at IS NOT NULL AS revoked FROM api_keys ORDER BY id`);
  const recorders = await rt.db.query(`SELECT serial, officer_id, officer_name, unit_id, registered FROM recorders ORDER BY serial`);
  const cases = await rt.db.query(`SELECT case_number, unit_id, state, ended_at, archived_at, major, legal_hold, hold_reason FROM cases ORDER BY case_number`);
  const actions = await rt.db.query(`SELECT * FROM case_actions ORDER BY id`);
  const matches = await rt.db.query(`SELECT action_id, evidence_id, state, decided_by, reason FROM action_matches ORDER BY action_id, evidence_id`);
  const redactions = await rt.db.query(`SELECT p.id, p.evidence_id, p.created_by, p.created_at, v.version, v.spec, v.author, v.note, v.saved_at, v.event_seq
      FROM redaction_projects p JOIN redaction_versions v ON v.project_id = p.id ORDER BY p.id, v.version`);
  const requests = await rt.db.query(`SELECT id, principal_id, evidence_id, case_number, actions, purpose, state, decided_by, reason, expires_at FROM access_requests ORDER BY id`);
  return {
    search: JSON.parse(search.stdout) as { items: unknown[] },
    verify: { code: verify.code, report: JSON.parse(verify.stdout) as { ok: boolean; ledger: { events: number; problems: unknown[] }; items: unknown[] } },
    items,
    sessions: sessions.rows,
    access: access.rows.map((r) => sealedForm({ ...r, principalKind: r.principal_kind, principalId: r.principal_id, principalName: r.principal_name, unitIds: r.unit_ids, evidenceId: r.evidence_id, evidenceIds: r.evidence_ids, caseNumber: r.case_number, approvalId: r.approval_id, userAgent: r.user_agent } as never)),
    sealed: access.rows.map((r) => Number(r.sealed_seq)),
    users: users.rows,
    units: units.rows,
    scopes: scopes.rows,
    keys: keys.rows,
    recorders: recorders.rows,
    cases: cases.rows,
    actions: actions.rows,
    matches: matches.rows,
    requests: requests.rows,
    redactions: redactions.rows,
  };
}

describe('evidock reindex: the catalog rebuilt from MinIO alone', () => {
  let env: TestEnv;
  let rt: Runtime;
  const ids: string[] = [];

  beforeAll(async () => {
    env = await createTestEnv('reindex', { media: { proxyPreset: 'ultrafast', proxyCrf: 30 } });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    await rt.identity.addUnit({ id: 'GD', name: '广东省医疗保障局', parentId: null }, 'admin');
    await rt.identity.addUnit({ id: 'GD-SZ', name: '深圳市医疗保障局', parentId: 'GD' }, 'admin');
    await rt.identity.registerRecorder({ serial: 'ZFYR01', officerId: '440301', officerName: '王警官', unitId: 'GD-SZ' }, 'admin');
    const dockings: Array<[string, number, { case?: string[]; subject?: string; place?: string }]> = [
      ['ZFYR01', 2, { case: ['YB-R-1'], subject: '某药店', place: '深圳市福田区' }],
      ['ZFYR02', 1, {}],
    ];
    let tone = 300;
    for (const [serial, n, extra] of dockings) {
      const dir = join(env.dir, serial);
      mkdirSync(dir, { recursive: true });
      for (let i = 1; i <= n; i++) {
        await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=15`, '-f', 'lavfi', '-i', `sine=frequency=${(tone += 100)}`, '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', join(dir, `${serial}_440301_2026112109${String(i).padStart(2, '0')}00_000${i}.MP4`)]);
      }
      const result = await importFolder(rt, dir, { serial, officer: '440301', ...extra, json: true });
      ids.push(...result.files.map((f) => f.evidenceId!));
    }
    // Media work done: metadata, proxies and thumbnails are derivatives the rebuild must find.
    for (const id of ids) {
      await eventually(async () => ((await rt.catalog.derivativesOf(id)).some((d) => d.kind === 'storyboard') && (await rt.catalog.getEvidence(id))!.media.status === 'ok' ? true : undefined), 180_000, `media of ${id}`);
    }
    // A custodian's work on the items: a tag, a case link, a hold, an action with its suggestion decided, an access approval, views sealed.
    await rt.identity.addUser({ name: 'custodian-li', role: 'custodian', unitIds: ['GD'], password: 'Evidock-Test-2026!' }, 'admin');
    await rt.identity.createKey({ name: '案件系统', role: 'case-system', unitIds: ['GD-SZ'] }, 'admin');
    const principal = await rt.identity.principalOfUser(await rt.identity.user('custodian-li'));
    const caller: Caller = { principal, ip: '127.0.0.1', userAgent: 'reindex-test' };
    await rt.evidence.tag(ids[2]!, { subject: '某诊所', place: '深圳市南山区' }, 'custodian-li');
    await rt.cases.link(caller, 'YB-R-2', [ids[2]!], '同一检查');
    await rt.preservation.holdItem(ids[0]!, true, '涉诉，暂停销毁', 'custodian-li');
    const { action } = await rt.cases.registerAction(caller, 'YB-R-1', { officerIds: ['440301'], startsAt: new Date('2026-11-21T00:00:00Z'), endsAt: new Date('2026-11-21T03:00:00Z'), subject: '某药店', place: null });
    const matches = await rt.db.query<{ evidence_id: string }>('SELECT evidence_id FROM action_matches WHERE action_id = $1 ORDER BY evidence_id', [action.id]);
    expect(matches.rows.length).toBeGreaterThan(0);
    await rt.cases.decideMatch(caller, 'YB-R-1', action.id, matches.rows[0]!.evidence_id, false, '非本次检查');
    await rt.lifecycle.end('YB-R-1', new Date(Date.now() - 86_400_000), 'custodian-li');
    const request = await rt.access.request(caller, { evidenceId: ids[1]!, actions: ['download'], purpose: '复核执法录像' });
    await rt.identity.addUser({ name: 'custodian-zhao', role: 'custodian', unitIds: ['GD'], password: 'Evidock-Test-2026!' }, 'admin');
    const zhao = await rt.identity.principalOfUser(await rt.identity.user('custodian-zhao'));
    await rt.access.decide({ principal: zhao, ip: null, userAgent: null }, request.id, { approve: true, reason: '同意复核', expiresAt: new Date(Date.now() + 86_400_000) });
    // A redaction project of two versions, the second rendered into a copy.
    const spec = { boxes: [{ id: 'face', mode: 'blur', keyframes: [{ t: 0.2, x: 0.1, y: 0.1, w: 0.3, h: 0.3 }, { t: 1.5, x: 0.5, y: 0.4, w: 0.3, h: 0.3 }] }], audioRanges: [{ from: 0.5, to: 1, mode: 'mute' }] };
    const first = await rt.redactions.save(ids[0]!, spec, { author: 'custodian-li', actor: { kind: 'user', id: 'custodian-li' }, note: '遮挡当事人面部' });
    await rt.redactions.save(ids[0]!, { ...spec, blurRanges: [{ from: 1.6, to: 1.9 }] }, { author: 'custodian-li', actor: { kind: 'user', id: 'custodian-li' }, projectId: first.projectId, note: null });
    await rt.redactions.requestRender(ids[0]!, first.projectId, 2);
    await eventually(async () => ((await rt.catalog.derivativesOf(ids[0]!)).some((d) => d.kind.startsWith('redacted:')) ? true : undefined), 180_000, 'the redacted copy');
    for (const id of ids) await rt.access.record(caller, { action: 'view', evidenceId: id });
    await rt.access.record(caller, { action: 'search', purpose: '案件查询' });
    while ((await rt.access.seal()) > 0);
    await rt.ledger.mirrorPending();
  }, 600_000);
  afterAll(async () => env?.cleanup());

  it('drops the database, rebuilds it from storage, and every search, item, custody event and verification reads as before', async () => {
    const before = await snapshot(rt, env, ids);
    expect(before.verify.report.ok).toBe(true);
    expect(new Set(ids).size, JSON.stringify(ids)).toBe(3);
    expect(before.search.items).toHaveLength(3);
    expect(before.access.length).toBe(4);
    expect(before.items.every((i) => i.derivatives.length >= 2)).toBe(true);
    expect(before.matches.some((m) => m.state === 'rejected')).toBe(true);
    expect(before.redactions).toHaveLength(2);
    expect(before.items[0]!.derivatives.some((d) => String(d.kind).startsWith('redacted:'))).toBe(true);

    // The database is lost: a new, empty one under the same name.
    await rt.pool?.close(true);
    await rt.close();
    const admin = new pg.Client({ host: env.config.postgres.host, port: env.config.postgres.port, user: env.config.postgres.user, database: 'postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE ${env.config.postgres.database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${env.config.postgres.database}`);
    await admin.end();

    const rebuilt = await evidock(['reindex', '--json'], env.childEnv);
    expect(rebuilt.code, rebuilt.stderr + rebuilt.stdout).toBe(0);
    const report = JSON.parse(rebuilt.stdout) as { ok: boolean; events: number; items: number; accessRecords: number; skipped: unknown[]; originalsMissing: string[]; accessSealsWithoutRecords: number[] };
    expect(report).toMatchObject({ ok: true, items: 3, accessRecords: 4, skipped: [], originalsMissing: [], accessSealsWithoutRecords: [] });
    expect(report.events).toBe(before.verify.report.ledger.events);

    rt = await env.runtime();
    const after = await snapshot(rt, env, ids);
    expect(after.search).toEqual(before.search);
    expect(after.items).toEqual(before.items);
    expect(after.verify).toEqual(before.verify);
    expect(after.sessions).toEqual(before.sessions);
    expect(after.access).toEqual(before.access);
    expect(after.sealed).toEqual(before.sealed);
    expect(after.units).toEqual(before.units);
    expect(after.scopes).toEqual(before.scopes);
    expect(after.keys).toEqual(before.keys);
    expect(after.recorders).toEqual(before.recorders);
    expect(after.cases).toEqual(before.cases);
    expect(after.actions).toEqual(before.actions);
    expect(after.matches).toEqual(before.matches);
    expect(after.requests).toEqual(before.requests);
    expect(after.redactions).toEqual(before.redactions);
    expect(after.users).toEqual(before.users);
    // No password came back: the ledger never held one. The administrator sets it again.
    await expect(rt.identity.login('custodian-li', 'Evidock-Test-2026!', { ip: '127.0.0.1', userAgent: 'test' })).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    await rt.identity.resetPassword('custodian-li', 'Evidock-Again-2026!', 'admin');
    await expect(rt.identity.login('custodian-li', 'Evidock-Again-2026!', { ip: '127.0.0.1', userAgent: 'test' })).resolves.toMatchObject({ principal: expect.objectContaining({ name: 'custodian-li' }) });
  }, 600_000);

  it('refuses to rebuild into a catalog that is not empty, and says so', async () => {
    const again = await evidock(['reindex'], env.childEnv);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/未重建目录|not rebuilt/);
    expect(again.stderr).toMatch(/empty|不是空|custody events/);
  }, 120_000);
});
