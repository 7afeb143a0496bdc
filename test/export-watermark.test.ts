import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import type { EvidenceRow } from '../storage/catalog.repository.ts';
import { drawtextFilter } from '../workers/ffmpeg-args.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { bagitValidate } from './support/package-tools.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * `export --watermark` on real footage: proxies made by the sandboxed transcode workers, the
 * copies burned by ffmpeg with the CJK font, the bag checked by bagit.py and verify-package,
 * and the burned text compared with ffmpeg's own reading of the same text from a file.
 */

const FONT = '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc';
/** Everything the filter syntax gives meaning to, and drawtext's own %{…}. */
const HOSTILE = "O'Brien: 50% \\ [律师], x';drawtext=text=pwned %{localtime}";

/** One decoded frame at `atSeconds` as 8-bit grey pixels, and its size. */
function grayFrame(path: string, atSeconds: number): { pixels: Buffer; width: number; height: number } {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  const [width, height] = probe.stdout.trim().split(',').map(Number) as [number, number];
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-ss', String(atSeconds), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${path}: ${r.stderr.toString()}`);
  return { pixels: r.stdout, width, height };
}

/** Mean absolute difference of two frames' rows [from, to). */
function rowDifference(a: Buffer, b: Buffer, width: number, from: number, to: number): number {
  let sum = 0;
  for (let i = from * width; i < to * width; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / ((to - from) * width);
}

function ffprobeJson(path: string): { streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>; format: { duration: string } } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe('export --watermark: copies of the proxies with case, recipient and date burned in', () => {
  let env: TestEnv;
  let rt: Runtime;
  let video: EvidenceRow;
  let audio: EvidenceRow;
  const evidock = (args: string[]): Promise<{ code: number; stdout: string; output: string }> =>
    new Promise((done) =>
      execFile(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), ...args], { env: { ...process.env, ...env.childEnv }, timeout: 180_000, encoding: 'utf8' }, (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, output: `${stdout}${stderr}` }),
      ),
    );

  beforeAll(async () => {
    env = await createTestEnv('watermark', { media: { proxyPreset: 'ultrafast', proxyCrf: 30, transcodeConcurrency: 1 } });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    const footage = await makeRecorderFootage(join(env.dir, 'rec'), { files: 1, seconds: 3, audio: true, photo: false, width: 640, height: 360, serial: 'ZFYW01' });
    await importFolder(rt, footage.root, { serial: 'ZFYW01', case: ['YB-WM-1'], subject: '某药店', place: '某区', clear: false, json: true });
    const items = await rt.evidence.search({ caseNumber: 'YB-WM-1' });
    video = items.find((i) => i.mediaType === 'video')!;
    audio = items.find((i) => i.mediaType === 'audio')!;
    await eventually(
      async () => {
        for (const item of [video, audio]) if (!(await rt.catalog.derivativesOf(item.id)).some((d) => d.kind === 'proxy')) return undefined;
        return true;
      },
      240_000,
      'both proxies',
    );
  }, 300_000);
  afterAll(async () => env?.cleanup());

  it('burns exactly the given text: the escaped filter draws what ffmpeg draws from the same text in a file', () => {
    const text = `复制件 · 提供给 ${HOSTILE}\nCOPY for ${HOSTILE}`;
    const file = join(env.dir, 'text.txt');
    writeFileSync(file, text);
    const render = (filter: string) => {
      const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=640x360', '-frames:v', '1', '-vf', filter, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 16 * 1024 * 1024 });
      expect(r.stderr.toString()).toBe('');
      return r.stdout;
    };
    const escaped = drawtextFilter(text, FONT);
    // The same layout, the text read raw from a file instead of passed through the two parsers.
    const fromFile = drawtextFilter('', FONT).replace("text=\\'\\'", `textfile=${file}`);
    expect(fromFile).not.toBe(drawtextFilter('', FONT));
    const drawn = render(escaped);
    expect(drawn.length).toBe(640 * 360 * 3);
    expect(drawn.equals(render(fromFile))).toBe(true);
    // And it is text that was drawn, not an empty frame compared with another empty frame.
    expect(drawn.equals(render('null'))).toBe(false);
  });

  it('adds a decodable watermarked copy of the video proxy, names the recipient, and the bag still validates', async () => {
    const dir = join(env.dir, 'package');
    const made = await evidock(['export', '--case', 'YB-WM-1', '--to', dir, '--by', 'custodian-wang', '--reason', '复制给当事人', '--watermark', HOSTILE, '--json']);
    expect(made.output).not.toContain('Error');
    expect(made.code).toBe(0);
    const result = JSON.parse(made.stdout) as { exportId: string; proxies: number; watermarked: number; items: Array<{ evidenceId: string; file: string; sha256: string }> };
    // The audio recording's proxy has no picture to mark: it goes in plain.
    expect(result).toMatchObject({ proxies: 2, watermarked: 1 });
    expect(readdirSync(join(dir, 'data', 'watermarked'))).toEqual([`${video.id}.mp4`]);

    const marked = join(dir, 'data', 'watermarked', `${video.id}.mp4`);
    const plain = join(dir, 'data', 'proxies', `${video.id}.mp4`);
    const probed = ffprobeJson(marked);
    const plainProbe = ffprobeJson(plain);
    expect(probed.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(Number(probed.format.duration)).toBeCloseTo(Number(plainProbe.format.duration), 1);
    expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(plainProbe.streams.map((s) => s.codec_type).sort());

    // The same moment of both: the lower part, where the text sits, differs; the top is the same picture.
    const a = grayFrame(marked, 1);
    const b = grayFrame(plain, 1);
    expect([a.width, a.height, a.pixels.length]).toEqual([b.width, b.height, b.width * b.height]);
    const bottom = rowDifference(a.pixels, b.pixels, a.width, Math.floor(a.height * 0.7), a.height);
    const top = rowDifference(a.pixels, b.pixels, a.width, 0, Math.floor(a.height * 0.4));
    expect(bottom).toBeGreaterThan(10);
    expect(top).toBeLessThan(3);
    expect(bottom).toBeGreaterThan(5 * top);

    // The originals are the evidence, never marked.
    for (const item of result.items) expect(createHash('sha256').update(readFileSync(join(dir, item.file))).digest('hex')).toBe(item.sha256);

    const manifest = JSON.parse(readFileSync(join(dir, 'data', 'evidence.json'), 'utf8')) as {
      watermark: { recipient: string; date: string; text: string[] };
      items: Array<{ evidenceId: string; derivatives: Array<{ kind: string; file: string; sha256: string; watermark?: { recipient: string; caseNumber: string } }> }>;
    };
    expect(manifest.watermark.recipient).toBe(HOSTILE);
    expect(manifest.watermark.text[0]).toBe(`复制件 · 案件 YB-WM-1 · 提供给 ${HOSTILE} · ${manifest.watermark.date}`);
    const entry = manifest.items.find((i) => i.evidenceId === video.id)!.derivatives.find((d) => d.kind === 'watermarked-proxy')!;
    expect(entry).toMatchObject({ file: `data/watermarked/${video.id}.mp4`, watermark: { recipient: HOSTILE, caseNumber: 'YB-WM-1' } });
    expect(entry.sha256).toBe(createHash('sha256').update(readFileSync(marked)).digest('hex'));
    expect(readFileSync(join(dir, 'manifest-sha256.txt'), 'utf8')).toContain(`${entry.sha256}  data/watermarked/${video.id}.mp4\n`);
    expect(readFileSync(join(dir, 'bag-info.txt'), 'utf8')).toContain(`Watermark-Recipient: ${HOSTILE}\n`);

    for (const item of [video, audio]) {
      const exported = (await rt.ledger.eventsFor({ evidenceId: item.id })).filter((e) => e.type === 'EXPORTED');
      expect(exported).toEqual([expect.objectContaining({ details: expect.objectContaining({ exportId: result.exportId, recipient: HOSTILE, watermarked: item === video ? [`data/watermarked/${video.id}.mp4`] : [] }) })]);
    }

    const lc = await bagitValidate(dir);
    expect(lc.output).toContain('is valid');
    expect(lc.code).toBe(0);
    const ours = await evidock(['verify-package', dir]);
    expect(ours.stdout).toContain('证据包校验通过：案件 YB-WM-1，2 件证据');
    expect(ours.code).toBe(0);
  });

  it('refuses a recipient that prints as nothing, with a one-line error and no bag', async () => {
    const dir = join(env.dir, 'refused');
    const before = (await rt.ledger.verify()).events;
    const refused = await evidock(['export', '--case', 'YB-WM-1', '--to', dir, '--by', 'custodian-wang', '--watermark', '\u200B\n ']);
    expect(refused.code).toBe(1);
    expect(refused.output.trim().split('\n')).toEqual(['导出中止，未生成证据包：watermark recipient: empty']);
    expect(readdirSync(dir)).toEqual([]);
    expect((await rt.ledger.verify()).events).toBe(before);
  });
});
