import { describe, expect, it } from 'vitest';
import { parseProbe, storedProbeInfo } from './ffprobe.parser.ts';

// Trimmed from real `ffprobe -v error -print_format json -show_format -show_streams` output
// (ffprobe 5.1 unless said otherwise); dispositions are kept only where they matter.

const bodyCam1080 = {
  streams: [
    {
      index: 0, codec_name: 'h264', profile: 'Main', codec_type: 'video', codec_tag_string: 'avc1', width: 1920, height: 1080,
      sample_aspect_ratio: '1:1', pix_fmt: 'yuv420p', r_frame_rate: '30/1', avg_frame_rate: '30/1', time_base: '1/15360',
      start_time: '0.000000', duration_ts: 276480, duration: '18.000000', bit_rate: '8150213', nb_frames: '540',
      disposition: { default: 1, attached_pic: 0, timed_thumbnails: 0 },
      tags: { creation_time: '2026-11-21T01:30:00.000000Z', language: 'und', handler_name: 'VideoHandler', vendor_id: '[0][0][0][0]' },
    },
    {
      index: 1, codec_name: 'aac', profile: 'LC', codec_type: 'audio', codec_tag_string: 'mp4a', sample_fmt: 'fltp', sample_rate: '48000',
      channels: 1, channel_layout: 'mono', r_frame_rate: '0/0', avg_frame_rate: '0/0', time_base: '1/48000', start_time: '0.000000',
      duration: '18.005333', bit_rate: '64011', nb_frames: '845',
      disposition: { default: 1, attached_pic: 0, timed_thumbnails: 0 },
      tags: { creation_time: '2026-11-21T01:30:00.000000Z', language: 'und', handler_name: 'SoundHandler' },
    },
  ],
  format: {
    filename: '/var/evidock/work/7f3a/ZFY123456_004512_20261121093000_0001.MP4', nb_streams: 2, nb_programs: 0,
    format_name: 'mov,mp4,m4a,3gp,3g2,mj2', format_long_name: 'QuickTime / MOV', start_time: '0.000000', duration: '18.005333',
    size: '18480112', bit_rate: '8210849', probe_score: 100,
    tags: { major_brand: 'isom', minor_version: '512', compatible_brands: 'isomiso2avc1mp41', creation_time: '2026-11-21T01:30:00.000000Z', Make: 'Hytera', Model: 'VM780' },
  },
};

/** iPhone portrait, HEVC, variable frame rate, GPS in the container (ffprobe 5.1). */
const iphonePortrait = {
  streams: [
    {
      index: 0, codec_name: 'hevc', profile: 'Main 10', codec_type: 'video', codec_tag_string: 'hvc1', width: 1920, height: 1080,
      pix_fmt: 'yuv420p10le', color_transfer: 'arib-std-b67', r_frame_rate: '30/1', avg_frame_rate: '16335/547', time_base: '1/600',
      duration: '7.290000', bit_rate: '7813451', nb_frames: '218',
      disposition: { default: 1, attached_pic: 0, timed_thumbnails: 0 },
      tags: { creation_time: '2025-06-02T07:12:44.000000Z', language: 'und', handler_name: 'Core Media Video', vendor_id: '[0][0][0][0]', encoder: 'HEVC' },
      side_data_list: [
        { side_data_type: 'DOVI configuration record', dv_version_major: 1, dv_profile: 8 },
        { side_data_type: 'Display Matrix', displaymatrix: '\n00000000:            0       65536           0\n00000001:       -65536           0           0\n00000002:     70778880           0  1073741824\n', rotation: -90 },
      ],
    },
    {
      index: 1, codec_name: 'aac', codec_type: 'audio', sample_rate: '44100', channels: 2, channel_layout: 'stereo',
      r_frame_rate: '0/0', avg_frame_rate: '0/0', duration: '7.290000', bit_rate: '175206',
      disposition: { default: 1, attached_pic: 0, timed_thumbnails: 0 },
    },
    { index: 2, codec_type: 'data', codec_tag_string: 'mebx', r_frame_rate: '0/0', avg_frame_rate: '0/0', duration: '7.290000', tags: { handler_name: 'Core Media Metadata' } },
  ],
  format: {
    format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '7.290000', size: '7291342', bit_rate: '8001470',
    tags: {
      major_brand: 'qt  ', creation_time: '2025-06-02T07:12:44.000000Z',
      'com.apple.quicktime.location.ISO6709': '+22.5430+114.0579+012.000/', 'com.apple.quicktime.make': 'Apple', 'com.apple.quicktime.model': 'iPhone 13',
    },
  },
};

/** Android phone filmed sideways, as ffprobe 4.x reported it: a rotate tag and side data. */
const androidFfprobe4 = {
  streams: [
    {
      index: 0, codec_name: 'h264', codec_type: 'video', width: 1280, height: 720, r_frame_rate: '30/1', avg_frame_rate: '30/1', duration: '4.000000',
      tags: { rotate: '270', creation_time: '2024-01-05T10:00:00.000000Z', language: 'eng' },
      side_data_list: [{ side_data_type: 'Display Matrix', displaymatrix: '…', rotation: 90 }],
    },
  ],
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '4.000000' },
};

/** Older camera app: only the rotate tag, no side data. */
const rotateTagOnly = {
  streams: [{ index: 0, codec_name: 'h264', codec_type: 'video', width: 1920, height: 1080, r_frame_rate: '25/1', avg_frame_rate: '25/1', tags: { rotate: '180' } }],
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '2.000000' },
};

const recorderWav = {
  streams: [
    {
      index: 0, codec_name: 'pcm_s16le', codec_type: 'audio', codec_tag_string: '[1][0][0][0]', sample_fmt: 's16', sample_rate: '16000', channels: 1,
      bits_per_sample: 16, r_frame_rate: '0/0', avg_frame_rate: '0/0', time_base: '1/16000', duration_ts: 1920000, duration: '120.000000', bit_rate: '256000',
      disposition: { default: 0, attached_pic: 0 },
    },
  ],
  format: { filename: 'x.WAV', nb_streams: 1, format_name: 'wav', duration: '120.000000', size: '3840078', bit_rate: '256005', probe_score: 99 },
};

/** M4A with cover art: the picture is a video stream with disposition attached_pic. */
const m4aWithCover = {
  streams: [
    { index: 0, codec_name: 'aac', codec_type: 'audio', sample_rate: '44100', channels: 2, r_frame_rate: '0/0', avg_frame_rate: '0/0', duration: '61.2' },
    {
      index: 1, codec_name: 'mjpeg', codec_type: 'video', width: 600, height: 600, r_frame_rate: '90000/1', avg_frame_rate: '0/0',
      disposition: { default: 0, attached_pic: 1, timed_thumbnails: 0 }, tags: { comment: 'Cover (front)' },
    },
  ],
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '61.200000', bit_rate: '129000' },
};

/** A raw H.264 elementary stream from a recorder's recovery tool: no durations at all. */
const rawH264 = {
  streams: [{ index: 0, codec_name: 'h264', codec_type: 'video', width: 1920, height: 1080, r_frame_rate: '25/1', avg_frame_rate: '25/1', duration: 'N/A' }],
  format: { format_name: 'h264', duration: 'N/A', bit_rate: 'N/A' },
};

describe('parseProbe', () => {
  it('reads a body-camera MP4: container, numbers from strings, lower-cased tags', () => {
    expect(parseProbe(bodyCam1080)).toEqual({
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      durationSeconds: 18.005333,
      bitRate: 8210849,
      tags: {
        major_brand: 'isom',
        minor_version: '512',
        compatible_brands: 'isomiso2avc1mp41',
        creation_time: '2026-11-21T01:30:00.000000Z',
        make: 'Hytera',
        model: 'VM780',
      },
      streams: [
        { index: 0, kind: 'video', codec: 'h264', width: 1920, height: 1080, frameRate: 30, variableFrameRate: false, rotation: 0, durationSeconds: 18, sampleRate: null, channels: null },
        { index: 1, kind: 'audio', codec: 'aac', width: null, height: null, frameRate: null, variableFrameRate: false, rotation: 0, durationSeconds: 18.005333, sampleRate: 48000, channels: 1 },
      ],
    });
  });

  it('reads rotation from display-matrix side data as clockwise degrees, and flags a variable frame rate', () => {
    const info = parseProbe(iphonePortrait);
    expect(info.streams.map((s) => s.kind)).toEqual(['video', 'audio', 'data']);
    expect(info.streams[0]).toMatchObject({ codec: 'hevc', width: 1920, height: 1080, rotation: 90, variableFrameRate: true, frameRate: 29.863 });
    expect(info.streams[2]).toMatchObject({ kind: 'data', codec: null, rotation: 0, variableFrameRate: false });
    expect(info.tags['com.apple.quicktime.location.iso6709']).toBe('+22.5430+114.0579+012.000/');
    expect(info.tags['com.apple.quicktime.model']).toBe('iPhone 13');
  });

  it('prefers side data over the legacy rotate tag, and reads the tag when it is all there is', () => {
    expect(parseProbe(androidFfprobe4).streams[0]!.rotation).toBe(270);
    expect(parseProbe(rotateTagOnly).streams[0]!.rotation).toBe(180);
  });

  it('normalises rotations to quarter turns in 0–270', () => {
    const withRotation = (rotation: number) => ({
      streams: [{ index: 0, codec_type: 'video', side_data_list: [{ side_data_type: 'Display Matrix', rotation }] }],
      format: {},
    });
    expect([90, -90, 180, -180, 270, -270, 0, -0, 360, 89.99].map((r) => parseProbe(withRotation(r)).streams[0]!.rotation)).toEqual([
      270, 90, 180, 180, 90, 270, 0, 0, 0, 270,
    ]);
  });

  it('reads a WAV recording as one audio stream', () => {
    expect(parseProbe(recorderWav)).toEqual({
      container: 'wav',
      durationSeconds: 120,
      bitRate: 256005,
      tags: {},
      streams: [{ index: 0, kind: 'audio', codec: 'pcm_s16le', width: null, height: null, frameRate: null, variableFrameRate: false, rotation: 0, durationSeconds: 120, sampleRate: 16000, channels: 1 }],
    });
  });

  it('does not take cover art for a video stream', () => {
    const info = parseProbe(m4aWithCover);
    expect(info.streams.map((s) => s.kind)).toEqual(['audio', 'other']);
    expect(info.streams.some((s) => s.kind === 'video')).toBe(false);
  });

  it('treats N/A as unknown, and falls back to the longest stream for the duration', () => {
    const info = parseProbe(rawH264);
    expect(info).toMatchObject({ container: 'h264', durationSeconds: null, bitRate: null });
    expect(info.streams[0]).toMatchObject({ durationSeconds: null, frameRate: 25, variableFrameRate: false });

    const noFormatDuration = { ...bodyCam1080, format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2' } };
    expect(parseProbe(noFormatDuration).durationSeconds).toBe(18.005333);
  });

  it('treats two spellings of one rate as constant, and an NTSC rate as a rate', () => {
    const ntsc = { streams: [{ index: 0, codec_type: 'video', r_frame_rate: '30000/1001', avg_frame_rate: '2997/100' }], format: {} };
    expect(parseProbe(ntsc).streams[0]).toMatchObject({ frameRate: 29.97, variableFrameRate: false });
  });

  it('tolerates an empty result and rejects what is not ffprobe JSON', () => {
    expect(parseProbe({})).toEqual({ container: null, durationSeconds: null, bitRate: null, streams: [], tags: {} });
    expect(() => parseProbe(null)).toThrow(/not a JSON object/);
    expect(() => parseProbe([bodyCam1080])).toThrow(/not a JSON object/);
  });
});

describe('storedProbeInfo', () => {
  it('gives back what parseProbe gave, after a round trip through the catalog\'s JSON', () => {
    for (const raw of [bodyCam1080, iphonePortrait, recorderWav, rawH264]) {
      const info = parseProbe(raw);
      expect(storedProbeInfo(JSON.parse(JSON.stringify(info)))).toEqual(info);
    }
  });

  it('refuses what is not a probe result, so the file is probed again', () => {
    const info = JSON.parse(JSON.stringify(parseProbe(bodyCam1080))) as Record<string, unknown> & { streams: Array<Record<string, unknown>> };
    expect(storedProbeInfo(null)).toBeNull();
    expect(storedProbeInfo({ error: 'moov atom not found' })).toBeNull();
    expect(storedProbeInfo({ ...info, streams: 'none' })).toBeNull();
    expect(storedProbeInfo({ ...info, durationSeconds: '18.0' })).toBeNull();
    const { tags: _tags, ...noTags } = info;
    expect(storedProbeInfo(noTags)).toBeNull();
    expect(storedProbeInfo({ ...info, streams: [{ ...info.streams[0], kind: 'hologram' }] })).toBeNull();
    const { width: _width, ...noWidth } = info.streams[0]!;
    expect(storedProbeInfo({ ...info, streams: [noWidth] })).toBeNull();
  });
});
