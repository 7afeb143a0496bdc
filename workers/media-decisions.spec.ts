import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.loader.ts';
import type { EvidenceRow, MediaFacts } from '../storage/catalog.repository.ts';
import { JobName } from './job.types.ts';
import { decideMetadata, parseIso6709, type MetadataDecision } from './media-decisions.ts';
import { audioStream, evidenceRow, noMetadata, probed, videoStream } from './media.fakes.ts';
import type { EmbeddedMetadata, ProbeOutcome } from './media-tools.ts';

// Every time in this file carries its offset, so no case depends on the host's time zone
// (except the one that is about exactly that).

const settings = loadConfig({ env: {} }).media;
const NOW = new Date('2026-11-21T03:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;

interface Case {
  name: string;
  evidence?: EvidenceRow;
  probe?: ProbeOutcome;
  embedded?: EmbeddedMetadata;
  settings?: Partial<typeof settings>;
  media?: Partial<MediaFacts>;
  capture?: MetadataDecision['capture'];
  flags?: string[];
  next?: JobName[];
}

const bodyCam = () => probed([videoStream(), audioStream()], { tags: { creation_time: '2026-11-21T01:30:00.000000Z' } });

function decide(c: Pick<Case, 'evidence' | 'probe' | 'embedded' | 'settings'>): MetadataDecision {
  return decideMetadata(c.evidence ?? evidenceRow(), c.probe ?? bodyCam(), c.embedded ?? noMetadata(), { now: NOW, settings: { ...settings, ...c.settings } });
}

/** Checks what a case states; `capture`, `flags` and `next` are exact when given. */
function check(c: Case): void {
  const d = decide(c);
  if (c.media) expect(d.media).toMatchObject(c.media);
  if (c.capture) expect(d.capture).toEqual(c.capture);
  if (c.flags) expect(d.flagsToAdd).toEqual(c.flags);
  if (c.next) expect(d.next).toEqual(c.next);
}

describe('decideMetadata: playability, facts and next jobs', () => {
  const cases: Case[] = [
    {
      name: 'playable 1080p video with audio: ok, facts, proxy and thumbnails',
      media: {
        status: 'ok',
        problem: null,
        container: 'mov,mp4,m4a,3gp,3g2,mj2',
        durationSeconds: 18.005,
        videoCodec: 'h264',
        audioCodec: 'aac',
        width: 1920,
        height: 1080,
        frameRate: 30,
        rotation: 0,
      },
      capture: {},
      flags: [],
      next: [JobName.Proxy, JobName.Thumbnails],
    },
    {
      name: 'audio-only recording: ok, no picture facts, proxy only',
      evidence: evidenceRow({ mediaType: 'audio', originalName: 'ZFY123456_004512_20261121093000_0002.WAV' }),
      probe: probed([audioStream({ index: 0, codec: 'pcm_s16le', sampleRate: 16000, durationSeconds: 3 })], { container: 'wav', durationSeconds: 3 }),
      media: { status: 'ok', problem: null, container: 'wav', audioCodec: 'pcm_s16le', videoCodec: null, width: null, height: null, frameRate: null },
      next: [JobName.Proxy],
    },
    {
      name: 'photo that ffprobe sees as a one-frame video: ok, no frame rate, thumbnails only',
      evidence: evidenceRow({ mediaType: 'photo', originalName: 'IMG_0001.JPG' }),
      probe: probed([videoStream({ codec: 'mjpeg', width: 4000, height: 3000, frameRate: 25, durationSeconds: 0.04 })], { container: 'image2', durationSeconds: 0.04 }),
      media: { status: 'ok', videoCodec: 'mjpeg', width: 4000, height: 3000, frameRate: null, container: 'image2' },
      next: [JobName.Thumbnails],
    },
    {
      name: 'photo without any duration is not zero-length (only timed media can be)',
      evidence: evidenceRow({ mediaType: 'photo' }),
      probe: probed([videoStream({ codec: 'mjpeg', durationSeconds: null })], { container: 'image2', durationSeconds: null }),
      media: { status: 'ok', problem: null },
      next: [JobName.Thumbnails],
    },
    {
      name: 'photo ffprobe cannot read: marked unplayable, thumbnails still queued (sharp reads it)',
      evidence: evidenceRow({ mediaType: 'photo' }),
      probe: { ok: false, error: 'Invalid data found when processing input' },
      media: { status: 'unplayable', problem: 'Invalid data found when processing input' },
      next: [JobName.Thumbnails],
    },
    {
      name: 'probe failure "moov atom not found": unplayable with that problem, no jobs',
      probe: { ok: false, error: 'moov atom not found' },
      media: { status: 'unplayable', problem: 'moov atom not found' },
      flags: [],
      next: [],
    },
    {
      name: 'no audio or video stream: unplayable',
      probe: probed([videoStream({ kind: 'data', codec: null, width: null, height: null, frameRate: null })]),
      media: { status: 'unplayable', problem: 'no audio or video stream', videoCodec: null, audioCodec: null },
      next: [],
    },
    {
      name: 'no streams at all: unplayable',
      probe: probed([], { durationSeconds: null }),
      media: { status: 'unplayable', problem: 'no audio or video stream' },
      next: [],
    },
    {
      name: 'zero-length video streams: unplayable',
      probe: probed([videoStream({ durationSeconds: 0 }), audioStream({ durationSeconds: 0 })], { durationSeconds: 0 }),
      media: { status: 'unplayable', problem: 'zero-length streams', videoCodec: 'h264' },
      next: [],
    },
    {
      name: 'zero-length audio: unplayable',
      evidence: evidenceRow({ mediaType: 'audio' }),
      probe: probed([audioStream({ durationSeconds: 0 })], { container: 'wav', durationSeconds: 0 }),
      media: { status: 'unplayable', problem: 'zero-length streams' },
      next: [],
    },
    {
      name: 'container without a duration but a stream with one: ok',
      probe: probed([videoStream({ durationSeconds: 6 })], { container: 'avi', durationSeconds: null }),
      media: { status: 'ok', problem: null, durationSeconds: null },
      next: [JobName.Proxy, JobName.Thumbnails],
    },
    {
      name: 'one zero-length stream beside a real one: ok',
      probe: probed([videoStream({ durationSeconds: 0 }), audioStream({ durationSeconds: 4 })], { durationSeconds: 0 }),
      media: { status: 'ok' },
    },
    {
      name: 'rotation passes through as the display rotation',
      probe: probed([videoStream({ rotation: 90 })]),
      media: { rotation: 90, width: 1920, height: 1080 },
    },
    {
      name: 'subtitle and data streams do not count as picture or sound',
      probe: probed([videoStream({ index: 0, kind: 'data', codec: 'bin_data' }), audioStream({ index: 1 })]),
      media: { status: 'ok', videoCodec: null, audioCodec: 'aac', width: null },
    },
  ];
  it.each(cases)('$name', (c) => check(c));

  it('an unplayable original gets no container facts it does not have', () => {
    const d = decide({ probe: { ok: false, error: 'moov atom not found' } });
    expect(d.media.container).toBeUndefined();
    expect(d.media.durationSeconds).toBeUndefined();
    expect(d.media.videoCodec).toBeUndefined();
  });
});

describe('decideMetadata: frame rate', () => {
  it.each<Case>([
    { name: 'variable frame rate is flagged', probe: probed([videoStream({ variableFrameRate: true, frameRate: 29.86 })]), media: { frameRate: 29.86 }, flags: ['variable-frame-rate'] },
    { name: 'constant frame rate is not', probe: probed([videoStream()]), flags: [] },
    {
      name: 'a flag already on the item is not added again',
      evidence: evidenceRow({ flags: ['variable-frame-rate'] }),
      probe: probed([videoStream({ variableFrameRate: true })]),
      flags: [],
    },
  ])('$name', (c) => check(c));
});

describe('decideMetadata: capture time', () => {
  const fileName = (at: string) => evidenceRow({ captureStart: new Date(at), captureTimeSource: 'file-name' });
  const fileTime = (at: string) => evidenceRow({ captureStart: new Date(at), captureTimeSource: 'file-time' });
  const at = (ms: number) => new Date(Date.parse('2026-11-21T01:30:00Z') + ms).toISOString();
  const noTags = () => probed([videoStream(), audioStream()]);

  it.each<Case>([
    {
      name: 'metadata time replaces a time taken from file times',
      evidence: fileTime('2026-11-21T01:48:00Z'),
      embedded: noMetadata({ createDate: '2026-11-21T01:30:00Z' }),
      capture: { captureStart: new Date('2026-11-21T01:30:00Z'), captureTimeSource: 'metadata' },
      flags: [],
    },
    {
      name: 'metadata time replaces a file time however far apart, without a mismatch flag',
      evidence: fileTime('2026-11-21T01:00:00Z'),
      embedded: noMetadata({ createDate: '2026-11-20T20:00:00+08:00' }),
      capture: { captureStart: new Date('2026-11-20T12:00:00Z'), captureTimeSource: 'metadata' },
      flags: [],
    },
    {
      name: 'metadata time fills an empty capture time',
      evidence: evidenceRow({ captureStart: null, captureTimeSource: null }),
      embedded: noMetadata({ createDate: '2026-11-21T01:30:00Z' }),
      capture: { captureStart: new Date('2026-11-21T01:30:00Z'), captureTimeSource: 'metadata' },
    },
    {
      name: "ffprobe's creation_time is used when exiftool has no date",
      evidence: fileTime('2026-11-21T01:48:00Z'),
      probe: probed([videoStream()], { tags: { creation_time: '2026-11-21T01:29:30.000000Z' } }),
      capture: { captureStart: new Date('2026-11-21T01:29:30Z'), captureTimeSource: 'metadata' },
    },
    {
      name: "exiftool's date wins over ffprobe's creation_time",
      evidence: fileTime('2026-11-21T01:48:00Z'),
      embedded: noMetadata({ createDate: '2026-11-21T01:31:00Z' }),
      probe: probed([videoStream()], { tags: { creation_time: '2026-11-21T01:29:30.000000Z' } }),
      capture: { captureStart: new Date('2026-11-21T01:31:00Z'), captureTimeSource: 'metadata' },
    },
    {
      name: 'an unreadable exiftool date falls back to creation_time',
      evidence: fileTime('2026-11-21T01:48:00Z'),
      embedded: noMetadata({ createDate: 'not a date' }),
      probe: probed([videoStream()], { tags: { creation_time: '2026-11-21T01:29:30.000000Z' } }),
      capture: { captureStart: new Date('2026-11-21T01:29:30Z'), captureTimeSource: 'metadata' },
    },
    {
      name: 'no metadata time: the file time stays',
      evidence: fileTime('2026-11-21T01:48:00Z'),
      probe: noTags(),
      capture: {},
      flags: [],
    },
    {
      name: 'a failed probe gives no creation_time',
      evidence: fileTime('2026-11-21T01:48:00Z'),
      probe: { ok: false, error: 'moov atom not found' },
      capture: {},
    },
    {
      name: 'file-name time and metadata 5 min + 1 s apart: flagged, the file-name time stays',
      evidence: fileName('2026-11-21T01:30:00Z'),
      embedded: noMetadata({ createDate: at(5 * MIN + 1000) }),
      probe: noTags(),
      capture: {},
      flags: ['capture-time-mismatch'],
    },
    {
      name: 'metadata earlier than the file-name time counts the same',
      evidence: fileName('2026-11-21T01:30:00Z'),
      embedded: noMetadata({ createDate: at(-(5 * MIN + 1000)) }),
      probe: noTags(),
      capture: {},
      flags: ['capture-time-mismatch'],
    },
    {
      name: 'file-name time and metadata exactly 5 min apart: within tolerance',
      evidence: fileName('2026-11-21T01:30:00Z'),
      embedded: noMetadata({ createDate: at(5 * MIN) }),
      probe: noTags(),
      capture: {},
      flags: [],
    },
    {
      name: 'file-name time and metadata 2 s apart: within tolerance',
      evidence: fileName('2026-11-21T01:30:00Z'),
      embedded: noMetadata({ createDate: at(2000) }),
      probe: noTags(),
      capture: {},
      flags: [],
    },
    {
      name: 'the same instant written with an offset agrees with the file-name time',
      evidence: fileName('2026-11-21T01:30:00Z'),
      embedded: noMetadata({ createDate: '2026-11-21T09:30:00+08:00' }),
      probe: noTags(),
      flags: [],
    },
    {
      name: 'a mismatch already flagged is not flagged twice',
      evidence: evidenceRow({ captureStart: new Date('2026-11-21T01:30:00Z'), captureTimeSource: 'file-name', flags: ['capture-time-mismatch'] }),
      embedded: noMetadata({ createDate: '2026-11-21T02:30:00Z' }),
      probe: noTags(),
      flags: [],
    },
  ])('$name', (c) => check(c));

  // Bug (see report): the exiftool adapter hands over dates without an offset as local
  // recorder time ("2026-11-21T09:30:00"), but decideMetadata reads them with `new Date()`,
  // i.e. in the worker host's zone, not in config.ingest.recorderTimeZone. On a UTC host a
  // Shanghai recorder's JPEG/AVI is then 8 h off: a false capture-time-mismatch here, a
  // wrong capture time where the catalog time came from file times. Flip to `it` when fixed.
  it('a date without offset is read in the recorder time zone, not the host zone', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      const d = decide({ evidence: fileName('2026-11-21T01:30:00Z'), embedded: noMetadata({ createDate: '2026-11-21T09:30:00' }), probe: noTags() });
      expect(d.flagsToAdd).toEqual([]);
      const filled = decide({ evidence: fileTime('2026-11-21T01:48:00Z'), embedded: noMetadata({ createDate: '2026-11-21T09:30:00' }), probe: noTags() });
      expect(filled.capture.captureStart).toEqual(new Date('2026-11-21T01:30:00Z'));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('decideMetadata: recorder clock', () => {
  const captured = (at: Date | string) => evidenceRow({ captureStart: new Date(at), captureTimeSource: 'file-name' });
  const plus = (ms: number) => new Date(NOW.getTime() + ms);
  const acquired = new Date('2026-11-21T02:00:00Z');
  const fromAcquired = (ms: number) => new Date(acquired.getTime() + ms);

  it.each<Case>([
    { name: 'before 2000: implausible (clock never set)', evidence: captured('1999-12-31T23:59:59Z'), flags: ['clock-implausible'] },
    { name: 'the unset-clock default 1970: implausible, not also suspect', evidence: captured('1970-01-01T00:00:00Z'), flags: ['clock-implausible'] },
    { name: 'exactly 2000-01-01 is plausible, but far from the docking: suspect', evidence: captured('2000-01-01T00:00:00Z'), flags: ['clock-suspect'] },
    { name: 'more than an hour in the future', evidence: captured(plus(HOUR + 1000)), flags: ['clock-in-future'] },
    { name: 'a year in the future: in-future, not also suspect', evidence: captured(plus(365 * 24 * HOUR)), flags: ['clock-in-future'] },
    { name: 'up to an hour ahead is tolerated', evidence: captured(plus(HOUR)), flags: [] },
    { name: 'more than 72 h before the docking: suspect', evidence: captured(fromAcquired(-72 * HOUR - 1000)), flags: ['clock-suspect'] },
    { name: 'exactly 72 h before the docking: fine', evidence: captured(fromAcquired(-72 * HOUR)), flags: [] },
    {
      name: 'earliestPlausibleCapture is a setting',
      evidence: captured('2019-06-01T00:00:00Z'),
      settings: { earliestPlausibleCapture: '2020-01-01' },
      flags: ['clock-implausible'],
    },
    {
      name: 'maxCaptureDriftHours is a setting',
      evidence: captured(fromAcquired(-2 * HOUR)),
      settings: { maxCaptureDriftHours: 1 },
      flags: ['clock-suspect'],
    },
    {
      name: 'the time metadata filled in is the one checked',
      evidence: evidenceRow({ captureStart: new Date('2026-11-21T01:48:00Z'), captureTimeSource: 'file-time' }),
      embedded: noMetadata({ createDate: '1999-01-01T00:00:00Z' }),
      capture: { captureStart: new Date('1999-01-01T00:00:00Z'), captureTimeSource: 'metadata' },
      flags: ['clock-implausible'],
    },
    {
      name: 'with a file-name time, the file-name time is the one checked',
      evidence: captured('1999-06-01T00:00:00Z'),
      embedded: noMetadata({ createDate: '1999-06-01T00:01:00Z' }),
      flags: ['clock-implausible'],
    },
    { name: 'no capture time at all: no clock flags', evidence: evidenceRow({ captureStart: null, captureTimeSource: null }), probe: probed([videoStream()]), flags: [] },
    { name: 'a clock flag from ingest is not added again', evidence: evidenceRow({ captureStart: new Date('2000-06-01T00:00:00Z'), flags: ['clock-suspect'] }), flags: [] },
    // Without a creation_time, unless the case gives one, so only the clock is judged.
  ])('$name', (c) => check({ probe: probed([videoStream()]), ...c }));
});

describe('decideMetadata: place', () => {
  const shanghai = { latitude: 31.2304, longitude: 121.4737, altitude: 12 };

  it.each<Case>([
    {
      name: "exiftool's GPS fills an empty place and the facts",
      embedded: noMetadata({ gps: shanghai }),
      media: { gpsLatitude: 31.2304, gpsLongitude: 121.4737 },
      capture: { place: 'GPS 31.230400,121.473700' },
    },
    {
      name: 'an empty-string place counts as empty',
      evidence: evidenceRow({ place: '' }),
      embedded: noMetadata({ gps: shanghai }),
      capture: { place: 'GPS 31.230400,121.473700' },
    },
    {
      name: 'a place the officer gave is kept; the position is still recorded as a fact',
      evidence: evidenceRow({ place: '南京东路 / Nanjing Rd E' }),
      embedded: noMetadata({ gps: shanghai }),
      media: { gpsLatitude: 31.2304, gpsLongitude: 121.4737 },
      capture: {},
    },
    {
      name: 'without exiftool GPS, the ISO 6709 location tag',
      probe: probed([videoStream()], { tags: { location: '+31.230400+121.473700/' } }),
      media: { gpsLatitude: 31.2304, gpsLongitude: 121.4737 },
      capture: { place: 'GPS 31.230400,121.473700' },
    },
    {
      name: "without exiftool GPS, QuickTime's location.iso6709 tag (lower-cased by the parser)",
      probe: probed([videoStream()], { tags: { 'com.apple.quicktime.location.iso6709': '+22.5430+114.0579+012.000/' } }),
      media: { gpsLatitude: 22.543, gpsLongitude: 114.0579 },
      capture: { place: 'GPS 22.543000,114.057900' },
    },
    {
      name: 'southern and western positions keep their signs',
      probe: probed([videoStream()], { tags: { location: '-33.8688-070.6693/' } }),
      capture: { place: 'GPS -33.868800,-70.669300' },
    },
    {
      name: "exiftool's GPS wins over the location tag",
      embedded: noMetadata({ gps: shanghai }),
      probe: probed([videoStream()], { tags: { location: '+22.5430+114.0579/' } }),
      media: { gpsLatitude: 31.2304, gpsLongitude: 121.4737 },
      capture: { place: 'GPS 31.230400,121.473700' },
    },
    {
      name: 'an unreadable location tag gives no position',
      probe: probed([videoStream()], { tags: { location: 'somewhere' } }),
      media: { gpsLatitude: null, gpsLongitude: null },
      capture: {},
    },
    {
      name: 'a failed probe still takes exiftool GPS',
      probe: { ok: false, error: 'moov atom not found' },
      embedded: noMetadata({ gps: shanghai }),
      media: { status: 'unplayable', gpsLatitude: 31.2304 },
      capture: { place: 'GPS 31.230400,121.473700' },
    },
  ])('$name', (c) => check(c));
});

describe('parseIso6709', () => {
  it.each<[string | undefined, ReturnType<typeof parseIso6709>]>([
    ['+31.2304+121.4737/', { latitude: 31.2304, longitude: 121.4737, altitude: null }],
    ['+31.2304+121.4737+012.000/', { latitude: 31.2304, longitude: 121.4737, altitude: 12 }],
    ['-33.8688-070.6693-005.5/', { latitude: -33.8688, longitude: -70.6693, altitude: -5.5 }],
    ['+31.2304+121.4737', { latitude: 31.2304, longitude: 121.4737, altitude: null }],
    ['  +31.2304+121.4737/\n', { latitude: 31.2304, longitude: 121.4737, altitude: null }],
    ['+31+121/', { latitude: 31, longitude: 121, altitude: null }],
    ['+90+180/', { latitude: 90, longitude: 180, altitude: null }],
    ['-90.0-180.0/', { latitude: -90, longitude: -180, altitude: null }],
    [undefined, null],
    ['', null],
    ['/', null],
    ['31.2304,121.4737', null],
    ['31.2304+121.4737/', null],
    ['+31.2304/', null],
    ['+90.0001+121.0/', null],
    ['+31.0+180.5/', null],
    ['+31.2304+121.4737+012.000CRSWGS_84/', null],
    ['+31.2304+121.4737/extra', null],
    ['+31.+121.4737/', null],
    ['+31.2304+121.4737//', null],
  ])('%j', (input, expected) => {
    expect(parseIso6709(input)).toEqual(expected);
  });
});

describe('decideMetadata: device', () => {
  it.each<Case & { serial: string | null; mismatch: boolean }>([
    { name: 'same serial', serial: 'ZFY123456', mismatch: false },
    { name: 'case and surrounding spaces ignored', serial: ' zfy123456 ', mismatch: false },
    { name: 'vendor padding', serial: '000ZFY123456', mismatch: false },
    { name: 'vendor prefix', serial: 'SN:ZFY123456', mismatch: false },
    { name: 'file holds only the numeric part', serial: '123456', mismatch: false },
    { name: 'another recorder', serial: 'ZFY654321', mismatch: true },
    { name: 'no serial in the file', serial: null, mismatch: false },
  ])('$name ($serial)', (c) => {
    const d = decide({ embedded: noMetadata({ serialNumber: c.serial }), probe: probed([videoStream()]) });
    expect(d.media.deviceSerial).toBe(c.serial);
    expect(d.flagsToAdd).toEqual(c.mismatch ? ['device-serial-mismatch'] : []);
  });

  it('a serial mismatch already flagged is not flagged twice', () => {
    const d = decide({ evidence: evidenceRow({ flags: ['device-serial-mismatch'] }), embedded: noMetadata({ serialNumber: 'ZFY654321' }), probe: probed([videoStream()]) });
    expect(d.flagsToAdd).toEqual([]);
  });

  it.each<Case>([
    { name: "make and model from exiftool", embedded: noMetadata({ make: 'Hytera', model: 'VM780' }), probe: probed([videoStream()], { tags: { make: 'X', model: 'Y' } }), media: { deviceMake: 'Hytera', deviceModel: 'VM780' } },
    { name: 'else from the container tags', probe: probed([videoStream()], { tags: { make: 'Hytera', model: 'VM780' } }), media: { deviceMake: 'Hytera', deviceModel: 'VM780' } },
    {
      name: "else from QuickTime's tags",
      probe: probed([videoStream()], { tags: { 'com.apple.quicktime.make': 'Apple', 'com.apple.quicktime.model': 'iPhone 13' } }),
      media: { deviceMake: 'Apple', deviceModel: 'iPhone 13' },
    },
    { name: 'none anywhere', probe: { ok: false, error: 'moov atom not found' }, media: { deviceMake: null, deviceModel: null, deviceSerial: null } },
  ])('$name', (c) => check(c));
});

describe('decideMetadata: flags together', () => {
  it('adds each new flag once and none the item already has', () => {
    const d = decide({
      evidence: evidenceRow({ flags: ['missing-place', 'variable-frame-rate', 'clock-suspect'], captureStart: new Date('2026-11-10T00:00:00Z') }),
      probe: probed([videoStream({ variableFrameRate: true }), audioStream()]),
      embedded: noMetadata({ createDate: '2026-11-10T01:00:00Z', serialNumber: 'ZFY000001' }),
    });
    expect(d.flagsToAdd).toEqual(['capture-time-mismatch', 'device-serial-mismatch']);
  });

  it('does not change the evidence row it was given', () => {
    const evidence = evidenceRow({ flags: ['missing-place'], captureTimeSource: 'file-time' });
    const snapshot = structuredClone(evidence);
    decide({ evidence, embedded: noMetadata({ createDate: '2026-11-21T01:31:00Z', gps: { latitude: 1, longitude: 2, altitude: null } }) });
    expect(evidence).toEqual(snapshot);
  });
});

describe('decideMetadata: known problems', () => {
  // Bug (see report): a file typed `video` (by its extension) that holds only sound is
  // playable, yet Thumbnails is queued for it; its poster frame (`-map 0:V:0`) then fails
  // with "matches no streams", a MediaInputError, and the thumbnails job marks the item
  // unplayable (after which a proxy job not yet run is skipped). Flip to `it` when fixed.
  it('a video-typed file with only an audio stream gets a proxy, not thumbnails', () => {
    const d = decide({ probe: probed([audioStream({ index: 0 })], { durationSeconds: 5 }) });
    expect(d.media.status).toBe('ok');
    expect(d.next).toEqual([JobName.Proxy]);
  });

  // Bug (see report): the exiftool adapter drops a (0, 0) position as "receiver had no fix",
  // but then decideMetadata falls back to the container's ISO 6709 tag, which is where
  // exiftool read that same (0, 0) from, and parseIso6709 accepts it: the item gets the place
  // "GPS 0.000000,0.000000" and gpsLatitude/gpsLongitude 0. Flip to `it` when fixed.
  it('a (0, 0) location tag, written by receivers without a fix, is not a place', () => {
    const d = decide({ probe: probed([videoStream()], { tags: { location: '+00.0000+000.0000/' } }) });
    expect(d.media).toMatchObject({ gpsLatitude: null, gpsLongitude: null });
    expect(d.capture.place).toBeUndefined();
  });
});
