import { execFile } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseNotFoundError } from '../archive/case-export.service.ts';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import { ExportDestinationError, ExportFolder } from '../daemon/export-folder.adapter.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { canonicalJson } from '../storage/custody-chain.ts';
import { bagitValidate, unzip } from './support/package-tools.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

interface ManifestEvent {
  seq: number;
  type: string;
  keyId: string;
  hash: string;
  signature: string;
  [k: string]: unknown;
}

describe('case export: a BagIt evidence package for the archive and the legal office', () => {
  let env: TestEnv;
  let rt: Runtime;
  let service: Runtime['exports'];
  const run = (cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; output: string }> =>
    new Promise((done) =>
      execFile(cmd, args, { env: { ...process.env, ...extraEnv }, timeout: 120_000, encoding: 'utf8' }, (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, output: `${stdout}${stderr}` }),
      ),
    );
  const evidock = (args: string[]) => run(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), ...args], env.childEnv);
  const sources = new Map<string, Buffer>();

  beforeAll(async () => {
    env = await createTestEnv('export');
    rt = await env.runtime();
    service = rt.exports;
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

  const bagit = bagitValidate;

  it('writes a BagIt bag that bagit.py and verify-package accept, with every original, its five fields and signed custody', async () => {
    const dir = join(env.dir, 'package');
    const result = await service.export({ caseNumber: 'YB-EXP-1', by: 'custodian-wang', reason: '归档', withProxies: false }, ExportFolder.create(dir));
    expect(result.items).toHaveLength(2);
    expect(readdirSync(join(dir, 'data', 'originals')).every((f) => /^[0-9a-f-]{36}\.mp4$/.test(f))).toBe(true);
    for (const item of result.items) expect(readFileSync(join(dir, item.file))).toEqual(sources.get(item.sha256));

    const validated = await bagit(dir);
    expect(validated.output).toContain('is valid');
    expect(validated.code).toBe(0);
    const checked = await evidock(['verify-package', dir]);
    expect(checked.stdout).toContain('证据包校验通过：案件 YB-EXP-1，2 件证据');
    expect(checked.code).toBe(0);

    const info = readFileSync(join(dir, 'bag-info.txt'), 'utf8');
    expect(info).toMatch(/^Payload-Oxum: \d+\.8$/m); // two originals, their custody and proof files, evidence.json, the ledger checkpoint
    expect(info).toContain('Exported-By: custodian-wang\n');
    expect(info).toContain(`External-Identifier: ${result.exportId}\n`);
    const manifest = JSON.parse(readFileSync(join(dir, 'data', 'evidence.json'), 'utf8')) as {
      caseNumber: string;
      copy: boolean;
      signatures: { keys: Array<{ keyId: string; publicKeyPem: string }> };
      items: Array<{ evidenceId: string; caseNumbers: string[]; subject: string; place: string; collector: string; captureStart: string; originalName: string; custodyFile: string }>;
    };
    expect(manifest).toMatchObject({ caseNumber: 'YB-EXP-1', copy: true });
    // Names as the catalog shows them: control characters and backslashes escaped.
    expect(manifest.items.map((i) => i.originalName).sort()).toEqual(['ZFYE01_004512_20261121090000_0001.MP4', 'evil\\x0A..\\\\x.MP4']);
    const keys = new Map(manifest.signatures.keys.map((k) => [k.keyId, createPublicKey(k.publicKeyPem)]));
    for (const item of manifest.items) {
      expect(item).toMatchObject({ caseNumbers: ['YB-EXP-1'], subject: '某药店', place: '某区' });
      const custody = JSON.parse(readFileSync(join(dir, item.custodyFile), 'utf8')) as ManifestEvent[];
      expect(custody.map((e) => e.type)).toEqual(expect.arrayContaining(['ACQUIRED', 'STORED', 'VERIFIED', 'RECORDED', 'RECORDER_CLEARED']));
      for (const event of custody) {
        const { hash, signature, ...body } = event;
        expect(createHash('sha256').update(canonicalJson(body)).digest('hex')).toBe(hash);
        expect(verify(null, Buffer.from(hash, 'hex'), keys.get(event.keyId)!, Buffer.from(signature, 'base64'))).toBe(true);
      }
    }
    const report = readFileSync(join(dir, 'custody-report.html'), 'utf8');
    for (const text of ['证明对象 Subject', '某药店', '采集地点 Capture place', '某区', '已从记录仪读取 / Read from recorder']) expect(report).toContain(text);
    expect(report).not.toContain('无效 INVALID');

    // Copying is logged: an EXPORTED event per item, by the custodian, and the chain still verifies.
    for (const item of result.items) {
      const exported = (await rt.ledger.eventsFor({ evidenceId: item.evidenceId })).filter((e) => e.type === 'EXPORTED');
      expect(exported).toEqual([expect.objectContaining({ actor: { kind: 'user', id: 'custodian-wang' }, details: expect.objectContaining({ exportId: result.exportId, reason: '归档' }) })]);
    }
    expect((await rt.ledger.verify()).problems).toEqual([]);
  });

  it('holds an A4 PDF custody report beside the HTML page, in the tag manifest, whose text layer has the case, the five fields and every signature verified', async () => {
    const dir = join(env.dir, 'package');
    const file = join(dir, 'custody-report.pdf');
    const tagged = readFileSync(join(dir, 'tagmanifest-sha256.txt'), 'utf8');
    expect(tagged).toContain(`${createHash('sha256').update(readFileSync(file)).digest('hex')}  custody-report.pdf\n`);
    const { stdout: text, code } = await run('pdftotext', ['-enc', 'UTF-8', file, '-']);
    expect(code).toBe(0);
    // pdftotext drops the spaces between CJK glyphs and breaks lines at cell edges: compare without white space.
    const flat = text.replace(/\s+/g, '');
    for (const label of ['案件YB-EXP-1音像证据监管链报告', 'Chain-of-custodyreport,caseYB-EXP-1', '证明对象Subject', '某药店', '采集地点Captureplace', '某区', '采集人Collector', '已从记录仪读取/Readfromrecorder']) {
      expect(flat).toContain(label);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'data', 'evidence.json'), 'utf8')) as { items: Array<{ evidenceId: string; custodyEvents: number }> };
    for (const item of manifest.items) expect(flat).toContain(item.evidenceId);
    const events = manifest.items.reduce((n, i) => n + i.custodyEvents, 0);
    expect(events).toBeGreaterThan(10);
    // One per event in the timelines, and the summary's "N / N 有效 valid".
    expect(flat.split('有效valid').length - 1).toBe(events + 1);
    expect(flat).toContain(`${events}/${events}有效valid`);
    expect(flat).not.toContain('无效INVALID');
    const { stdout: info } = await run('pdfinfo', [file]);
    expect(info).toMatch(/Page size:\s+595\.28 x 841\.89 pts \(A4\)/);
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(info)?.[1]);
    for (let p = 1; p <= pages; p++) expect(flat).toContain(`第${p}页，共${pages}页`);
    const { stdout: fonts } = await run('pdffonts', [file]);
    expect(fonts.split('\n').filter((l) => l.includes('NotoSansCJK')).every((l) => /\byes\s+yes\s+yes\b/.test(l))).toBe(true);
    expect(fonts).toContain('NotoSansCJK');
  });

  it('fails both validators, naming the file, for a changed byte of a video, a custody event removed and a file added', async () => {
    const original = join(env.dir, 'package');
    const copy = (name: string) => {
      const dir = join(env.dir, `tampered-${name}`);
      cpSync(original, dir, { recursive: true });
      return dir;
    };
    const manifest = JSON.parse(readFileSync(join(original, 'data', 'evidence.json'), 'utf8')) as { items: Array<{ file: string; custodyFile: string }> };
    const { file: video, custodyFile } = manifest.items[0]!;

    const flipped = copy('byte');
    const bytes = readFileSync(join(flipped, video));
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(join(flipped, video), bytes);
    const removed = copy('event');
    const events = JSON.parse(readFileSync(join(removed, custodyFile), 'utf8')) as ManifestEvent[];
    writeFileSync(join(removed, custodyFile), `${JSON.stringify(events.filter((e) => e.type !== 'STORED'), null, 2)}\n`);
    const added = copy('added');
    writeFileSync(join(added, 'data', 'originals', 'planted.mp4'), randomBytes(100));

    // bagit.py stops at the first thing that fails: the payload size when a file grew, shrank or came in.
    for (const [dir, file, problem, theirs] of [
      [flipped, video, '文件被修改（哈希不符）', video],
      [removed, custodyFile, '文件被修改（哈希不符）', 'Payload-Oxum validation failed'],
      [added, 'data/originals/planted.mp4', '多出的文件（导出后添加）', 'Payload-Oxum validation failed. Expected 8 files'],
    ] as const) {
      const lc = await bagit(dir);
      expect(lc.code).not.toBe(0);
      expect(lc.output).toContain(theirs);
      const ours = await evidock(['verify-package', dir]);
      expect(ours.code).toBe(1);
      expect(ours.stdout).toContain(`  - ${file}: ${problem}`);
    }
  });

  it('writes the bag as one .zip from the command line, which verify-package checks in place and bagit.py after unzipping', async () => {
    const zip = join(env.dir, 'YB-EXP-1.zip');
    const made = await evidock(['export', '--case', 'YB-EXP-1', '--to', zip, '--by', 'custodian-li', '--reason', '法制审核', '--zip', '--json']);
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ caseNumber: 'YB-EXP-1', root: zip, documents: 0 });
    expect(existsSync(`${zip}.partial`)).toBe(false);
    const checked = await evidock(['--lang', 'en', 'verify-package', zip, '--json']);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, caseNumber: 'YB-EXP-1', items: 2, problems: [] });
    const out = join(env.dir, 'unzipped');
    unzip(zip, out);
    expect(readdirSync(out)).toEqual(['YB-EXP-1']);
    expect((await bagit(join(out, 'YB-EXP-1'))).code).toBe(0);
    // No temporary bag is left behind on the workstation.
    expect(readdirSync(join(env.config.dataDir, 'exports'))).toEqual([]);
  });

  it('refuses a folder that is not empty and a case without evidence, recording nothing', async () => {
    const dir = join(env.dir, 'package');
    expect(() => ExportFolder.create(dir)).toThrow(ExportDestinationError);
    const before = (await rt.ledger.verify()).events;
    await expect(service.export({ caseNumber: 'YB-NONE', by: 'x', reason: null, withProxies: false }, ExportFolder.create(join(env.dir, 'empty')))).rejects.toThrow(CaseNotFoundError);
    expect((await rt.ledger.verify()).events).toBe(before);
  });
});
