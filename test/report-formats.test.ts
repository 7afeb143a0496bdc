import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { parseCsv } from './support/csv-reader.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

const run = promisify(execFile);

function evidock(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), ...args], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const BUREAU = '某市医疗保障局';

/** One generated catalog item; what is not said is a complete, on-time, half-hour recording. */
interface Item {
  unit: string | null;
  /** Local (Beijing) capture time. */
  at: string;
  late?: boolean | null;
  place?: string | null;
  cases?: string[];
  officer?: string | null;
  durationSeconds?: number | null;
}

/**
 * The catalog with known answers, year 2025, by unit:
 * - U-A: one item on the 15th of each month, 3 late (January to March), 1 without a deadline
 *   verdict (April), 8 on time; 2 without a place (May, June); half an hour each: 6.0 hours.
 * - U-B: 5 items in March, 1 late, 4 on time, 1 without a case number; an hour each: 5.0 hours.
 * - no unit: 2 items in July without an officer and without a verdict, duration unknown.
 * - two items of U-A just outside the year, on both sides of it in Beijing time.
 */
function catalog(): Item[] {
  const months = Array.from({ length: 12 }, (_, i) => String(i + 1).padStart(2, '0'));
  return [
    ...months.map((m, i): Item => ({
      unit: 'U-A',
      at: `2025-${m}-15T10:00:00`,
      late: i < 3 ? true : i === 3 ? null : false,
      place: i === 4 || i === 5 ? null : '某区某路1号',
      durationSeconds: 1800,
    })),
    ...[0, 1, 2, 3, 4].map((i): Item => ({ unit: 'U-B', at: `2025-03-0${i + 1}T09:00:00`, late: i === 0, cases: i === 1 ? [] : undefined, durationSeconds: 3600 })),
    { unit: null, at: '2025-07-01T08:00:00', officer: null, late: null, durationSeconds: null },
    { unit: null, at: '2025-07-20T08:00:00', officer: null, late: null, durationSeconds: null },
    { unit: 'U-A', at: '2024-12-31T23:30:00' },
    { unit: 'U-A', at: '2026-01-01T00:30:00' },
  ];
}

async function insert(rt: Runtime, items: Item[]): Promise<void> {
  for (const [n, item] of items.entries()) {
    const capture = new Date(`${item.at}+08:00`);
    await rt.db.query(
      `INSERT INTO evidence (id, sha256, size, media_type, object_key, object_etag, original_name, original_path, recorder_serial,
          officer_id, officer_name, unit_id, case_numbers, subject, place, capture_start, capture_end, first_session_id, acquired_at, verified_at,
          transfer_late, duration_seconds)
       VALUES ($1, $2, 1000, 'video', $3, 'etag', $4, $4, 'ZFY-R', $5, CASE WHEN $5::text IS NULL THEN NULL ELSE '张三' END, $6, $7, '某药店', $8, $9, $9, $10, $9, $9, $11, $12)`,
      [
        randomUUID(),
        `${String(n).padStart(4, '0')}${'0'.repeat(60)}`,
        `sha256/${n}`,
        `REC_${n}.MP4`,
        item.officer === undefined ? '004512' : item.officer,
        item.unit,
        item.cases ?? ['YB-2025-1'],
        item.place === undefined ? '某区某路1号' : item.place,
        capture,
        randomUUID(),
        item.late === undefined ? false : item.late,
        item.durationSeconds === undefined ? 1800 : item.durationSeconds,
      ],
    );
  }
}

// Group, items, hours, on time %, late, complete, complete %, no case, no time, no place, no officer, no subject, unregistered, unplayable.
const EXPECTED = {
  'U-A': ['U-A 稽查一支队', '12', '6.0', '72.7', '3', '10', '83.3', '0', '0', '2', '0', '0', '0', '0'],
  'U-B': ['U-B', '5', '5.0', '80.0', '1', '4', '80.0', '1', '0', '0', '0', '0', '0', '0'],
  none: ['（无）', '2', '0.0', '-', '0', '0', '0.0', '0', '0', '0', '2', '0', '0', '0'],
  total: ['合计', '19', '11.0', '75.0', '4', '14', '73.7', '1', '0', '2', '2', '0', '0', '0'],
};
const HEADER_ZH = ['分组', '证据数', '时长(时)', '按时率(%)', '超时', '五要素齐全', '齐全率(%)', '缺案号', '缺时间', '缺地点', '缺采集人', '缺证明对象', '未登记', '无法播放'];
/** Items, and late items, per month of 2025 in the catalog above. */
const ITEMS_BY_MONTH = [1, 1, 6, 1, 1, 1, 3, 1, 1, 1, 1, 1];
const LATE_BY_MONTH = [1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0];

describe('evidock report --format csv|html|pdf on a catalog with known answers', () => {
  let env: TestEnv;
  let childEnv: Record<string, string>;
  beforeAll(async () => {
    env = await createTestEnv('reportfmt', { ingest: { recorderTimeZone: 'Asia/Shanghai' }, reports: { bureauName: BUREAU } });
    childEnv = env.childEnv;
    const rt = await env.runtime();
    // U-A is in the unit registry, U-B is not: the report names the one and keys the other.
    await rt.identity.addUnit({ id: 'U-A', name: '稽查一支队', parentId: null }, 'test');
    await insert(rt, catalog());
  }, 120_000);
  afterAll(async () => env?.cleanup());

  it('writes a PDF whose text layer holds the figures, the Chinese labels, the bureau and the period, with the CJK font embedded', async () => {
    const file = join(env.dir, 'q.pdf');
    const result = await evidock(['report', '--year', '2025', '--by', 'unit', '--format', 'pdf', '--out', file], childEnv);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`报表已写入 ${file}`);
    expect(existsSync(`${file}.part`)).toBe(false);

    const { stdout: text } = await run('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-']);
    // A table row is a line of the text layer, its cells apart by white space.
    const lines = text.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    for (const row of [EXPECTED['U-A'], EXPECTED['U-B'], EXPECTED.none, EXPECTED.total]) expect(lines).toContain(row.join(' '));
    const flat = text.replace(/\s+/g, '');
    for (const label of [BUREAU, '执法音像记录统计报表', '统计期间：2025（2025-01-01至2025-12-31）', '统计口径：按单位', '各单位证据数', '各单位按时移交率', '逐月证据数与超时数', ...HEADER_ZH]) {
      expect(flat).toContain(label);
    }
    // pdftotext drops the spaces between CJK glyphs: compare without them.
    const pages = Number(/共(\d+)页/.exec(flat)?.[1]);
    expect(pages).toBeGreaterThanOrEqual(1);
    for (let p = 1; p <= pages; p++) expect(flat).toContain(`第${p}页共${pages}页`);
    // The bureau and the period head every page: pdftotext separates pages with a form feed.
    const perPage = text.split('\f').filter((page) => page.trim() !== '');
    expect(perPage).toHaveLength(pages);
    for (const page of perPage) expect(page.split('\n').find((l) => l.includes(BUREAU))?.replace(/\s+/g, '')).toContain('2025（2025-01-01至2025-12-31）');

    const { stdout: fonts } = await run('pdffonts', [file]);
    const cjk = fonts.split('\n').filter((l) => l.includes('NotoSansCJK'));
    expect(cjk.length).toBeGreaterThan(0);
    // emb, sub, uni: embedded, subset, with a ToUnicode map (what makes the text layer Chinese).
    for (const line of cjk) expect(line).toMatch(/\byes\s+yes\s+yes\b/);
    const { stdout: info } = await run('pdfinfo', [file]);
    expect(info).toMatch(/Page size:\s+841\.89 x 595\.28 pts \(A4\)/);
  });

  it('writes a CSV with a BOM, Chinese headers, numbers only in the figure columns and a total row', async () => {
    const result = await evidock(['report', '--year', '2025', '--by', 'unit', '--format', 'csv'], childEnv);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('\uFEFF')).toBe(true);
    expect(result.stdout.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(result.stdout);
    expect(rows[0]).toEqual(HEADER_ZH);
    // The figures as a spreadsheet reads them: numbers (6, not "6.0"), an empty cell for no figure.
    const figures = (cells: string[], none: string) => [cells[0], ...cells.slice(1).map((c) => (c === none ? null : Number(c)))];
    expect(rows.slice(1).map((r) => figures(r, ''))).toEqual([EXPECTED['U-A'], EXPECTED['U-B'], EXPECTED.none, EXPECTED.total].map((r) => figures(r, '-')));
    for (const row of rows.slice(1)) for (const cell of row.slice(1)) expect(cell).toMatch(/^(\d+(\.\d+)?)?$/);

    const byOfficer = parseCsv((await evidock(['report', '--year', '2025', '--by', 'officer', '--format', 'csv'], childEnv)).stdout);
    expect(byOfficer.slice(1).map((r) => [r[0], r[1]])).toEqual([['004512 张三', '17'], ['（无）', '2'], ['合计', '19']]);

    const english = await evidock(['--lang', 'en', 'report', '--year', '2025', '--by', 'unit', '--format', 'csv'], childEnv);
    expect(parseCsv(english.stdout)[0]!.slice(0, 4)).toEqual(['group', 'items', 'hours', 'on time (%)']);
    expect(parseCsv(english.stdout).at(-1)![0]).toBe('total');
  });

  it('writes one self-contained A4 page with the table and SVG charts drawn from the same figures', async () => {
    const file = join(env.dir, 'r.html');
    const result = await evidock(['report', '--year', '2025', '--by', 'unit', '--format', 'html', '--out', file], childEnv);
    expect(result.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="zh-CN">/);
    expect(html).toContain('@page { size: A4 landscape;');
    expect(html).not.toMatch(/<script|<link|src=|href=/);
    expect(html).toContain(`<div class="bureau">${BUREAU}</div>`);
    expect(html).toContain('统计期间：2025（2025-01-01 至 2025-12-31）');

    const cellsOf = (tr: string) => [...tr.matchAll(/<t[dh][^>]*>([^<]*)<\/t[dh]>/g)].map((m) => m[1]);
    const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
    expect(body.trim().split('\n').map(cellsOf)).toEqual([EXPECTED['U-A'], EXPECTED['U-B'], EXPECTED.none]);
    expect(cellsOf(/<tfoot>([\s\S]*?)<\/tfoot>/.exec(html)![1]!)).toEqual(EXPECTED.total);

    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(svgs).toHaveLength(3);
    const barHeights = (svg: string) => [...svg.matchAll(/<rect class="bar" [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    // Items per unit 12, 5, 2 on a 0–15 scale; the plot is 210 − 2 × 34 = 142 high, from y 34 to 176.
    const items = barHeights(svgs[0]!);
    expect(items).toHaveLength(3);
    [12, 5, 2].forEach((n, i) => expect(items[i]).toBeCloseTo((n / 15) * 142, 1));
    // On-time rates 8/11 and 4/5 on 0–100 %; the group without a verdict has no bar.
    const rates = barHeights(svgs[1]!);
    expect(rates).toHaveLength(2);
    expect(rates[0]).toBeCloseTo((8 / 11) * 142, 1);
    expect(rates[1]).toBeCloseTo(0.8 * 142, 1);
    // The line over the twelve months: items and late items, both on the 0–6 scale.
    const lines = [...svgs[2]!.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => Number(p.split(',')[1])));
    expect(lines).toHaveLength(2);
    lines[0]!.forEach((y, i) => expect(y).toBeCloseTo(176 - (ITEMS_BY_MONTH[i]! / 6) * 142, 1));
    lines[1]!.forEach((y, i) => expect(y).toBeCloseTo(176 - (LATE_BY_MONTH[i]! / 6) * 142, 1));
    // The bars carry the unit's name where the registry has one.
    expect([...svgs[0]!.matchAll(/<text class="label"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['稽查一支队', 'U-B', '（无）']);
    expect([...svgs[2]!.matchAll(/<text class="label"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(ITEMS_BY_MONTH.map((_, i) => `2025-${String(i + 1).padStart(2, '0')}`));

    const english = await evidock(['--lang', 'en', 'report', '--year', '2025', '--by', 'unit', '--format', 'html'], childEnv);
    expect(english.stdout).toContain('<html lang="en">');
    expect(english.stdout).toContain('Period: 2025 (2025-01-01 to 2025-12-31)');
  });

  it('keeps --json and the text table as they were', async () => {
    const json = JSON.parse((await evidock(['report', '--year', '2025', '--by', 'unit', '--json'], childEnv)).stdout);
    expect(Object.keys(json)).toEqual(['period', 'by', 'rows', 'total']);
    expect(json.rows.map((r: { key: string | null; items: number }) => [r.key, r.items])).toEqual([['U-A', 12], ['U-B', 5], [null, 2]]);
    const text = await evidock(['report', '--year', '2025', '--by', 'unit'], childEnv);
    expect(text.stdout.split('\n')[0]).toBe('执法音像记录统计 2025（按单位）');
  });

  it('refuses in one line: pdf without --out, --json with --format, no bureau name, no font', async () => {
    const noOut = await evidock(['report', '--year', '2025', '--format', 'pdf'], childEnv);
    expect([noOut.code, noOut.stderr]).toEqual([1, '--format pdf 需要 --out 文件\n']);
    const both = await evidock(['report', '--year', '2025', '--format', 'csv', '--json'], childEnv);
    expect([both.code, both.stderr]).toEqual([1, '--json 与 --format 只能选一个\n']);
    const bad = await evidock(['report', '--year', '2025', '--format', 'docx'], childEnv);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('docx');

    const settings = JSON.parse(readFileSync(childEnv.EVIDOCK_CONFIG!, 'utf8'));
    delete settings.reports;
    const anonymous = join(env.dir, 'no-bureau.json');
    writeFileSync(anonymous, JSON.stringify(settings));
    const noBureau = await evidock(['report', '--year', '2025', '--format', 'html'], { ...childEnv, EVIDOCK_CONFIG: anonymous });
    expect([noBureau.code, noBureau.stderr]).toEqual([1, '报表需要执法机关名称：请在配置中设置 reports.bureauName\n']);
    // Text needs no bureau name.
    expect((await evidock(['report', '--year', '2025'], { ...childEnv, EVIDOCK_CONFIG: anonymous })).code).toBe(0);

    const file = join(env.dir, 'nofont.pdf');
    const noFont = await evidock(['--lang', 'en', 'report', '--year', '2025', '--format', 'pdf', '--out', file], { ...childEnv, EVIDOCK__reports__fontFile: join(env.dir, 'missing.ttc') });
    expect(noFont.code).toBe(1);
    expect(noFont.stderr).toBe(`Cannot read the CJK font ${join(env.dir, 'missing.ttc')} (ENOENT): install fonts-noto-cjk or set reports.fontFile\n`);
    expect(existsSync(file)).toBe(false);

    const nowhere = await evidock(['report', '--year', '2025', '--format', 'pdf', '--out', join(env.dir, 'no', 'such', 'dir.pdf')], childEnv);
    expect([nowhere.code, nowhere.stderr]).toEqual([1, `无法写入 ${join(env.dir, 'no', 'such', 'dir.pdf')}：ENOENT\n`]);
  });
});
