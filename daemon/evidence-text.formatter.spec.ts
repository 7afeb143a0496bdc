import { afterEach, describe, expect, it } from 'vitest';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import { evidenceRow } from '../workers/media.fakes.ts';
import { formatEvidence } from './evidence-text.formatter.ts';
import { displayWidth, fitColumns, formatDuration, formatLocalTime, setLocale } from './i18n.ts';

const event = (seq: number, type: CustodyEvent['type'], at: string): CustodyEvent => ({
  seq,
  at,
  workstationId: 'ws-1',
  type,
  actor: { kind: 'workstation', id: 'ws-1' },
  evidenceId: null,
  sessionId: null,
  fileId: null,
  details: {},
  prevHash: '0'.repeat(64),
  keyId: 'k',
  hash: 'h',
  signature: 's',
});

describe('formatEvidence', () => {
  afterEach(() => setLocale('zh-CN'));

  it('leads with the five required fields in Chinese, naming the missing ones, times in the bureau zone', () => {
    const lines = formatEvidence(evidenceRow({ place: null }), [], [event(7, 'VERIFIED', '2026-11-21T02:01:00.000Z')], 'Asia/Shanghai');
    expect(lines.slice(1, 6)).toEqual([
      '案件编号      YB-2026-0042',
      '采集时间      2026-11-21 09:30:00 +08:00 — 2026-11-21 09:30:18 +08:00  (file-name)',
      '采集地点      （缺失，待补录）',
      '采集人        004512',
      '证明对象      traffic stop',
    ]);
    expect(lines).toContain('移交时限      按时（入库用时 30分，时限 2026-11-22 09:30:18 +08:00）');
    expect(lines).toContain('媒体信息      尚未处理（元数据、播放副本和缩略图由工作进程生成）');
    expect(lines.at(-1)).toBe('  #     7  2026-11-21 10:01:00 +08:00  VERIFIED               workstation:ws-1');
  });

  it('speaks English when asked, says a late transfer is late and summarises the media', () => {
    setLocale('en');
    const row = evidenceRow({
      caseNumbers: [],
      transferDelaySeconds: 3 * 86400 + 7200,
      transferLate: true,
      flags: ['missing-case'],
      media: { status: 'partial', problem: 'stream breaks off at 2.0 s of 6.0 s', width: 1280, height: 720, frameRate: 29.97, videoCodec: 'h264', audioCodec: 'aac', durationSeconds: 6 },
    });
    const lines = formatEvidence(row, [], [], 'UTC');
    expect(lines).toContain('Case number(s)            (missing, to be filled in)');
    expect(lines).toContain('Transfer deadline         LATE (3 d 2 h after recording; deadline 2026-11-22 01:30:18 +00:00)');
    expect(lines).toContain('Media                     partial  1280x720  29.97 fps  h264/aac  6.0 s  partially playable: stream breaks off at 2.0 s of 6.0 s');
    expect(lines).toContain('Flags                     missing-case');
  });
});

describe('formatDuration and formatLocalTime', () => {
  it('formats delays in both languages', () => {
    expect(formatDuration(0, 'zh-CN')).toBe('0分');
    expect(formatDuration(90_061, 'zh-CN')).toBe('1天1小时1分');
    expect(formatDuration(3600, 'en')).toBe('1 h');
  });

  it('writes the wall time of a zone with its offset', () => {
    expect(formatLocalTime(new Date('2026-12-31T16:30:00Z'), 'Asia/Shanghai')).toBe('2027-01-01 00:30:00 +08:00');
    expect(formatLocalTime(new Date('2026-12-31T16:30:00Z'), 'UTC')).toBe('2026-12-31 16:30:00 +00:00');
  });
});

describe('fitColumns', () => {
  it('pads Chinese by terminal columns and keeps the end of a long name', () => {
    expect(fitColumns('总计', 6)).toBe('总计  ');
    expect(fitColumns('abc', 5)).toBe('abc  ');
    expect(fitColumns('DCIM/现场检查_0001.MP4', 12)).toBe('…查_0001.MP4');
    expect(fitColumns('现场检查记录.MP4', 9)).toBe('…记录.MP4');
    expect(fitColumns('现场检查记录.MP4', 8)).toBe('…录.MP4 ');
    for (const text of ['现场检查记录.MP4', 'DCIM/100MEDIA/ZFY9_004512_20261201100001_0001.MP4', '总计']) expect(displayWidth(fitColumns(text, 9))).toBe(9);
  });
});
