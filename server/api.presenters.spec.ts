import { describe, expect, it } from 'vitest';
import { containerName } from './api.presenters.ts';

describe('containerName', () => {
  it("names the format this file is out of ffprobe's demuxer list", () => {
    expect(containerName('mov,mp4,m4a,3gp,3g2,mj2', 'REC_0001.MP4')).toBe('mp4');
    expect(containerName('mov,mp4,m4a,3gp,3g2,mj2', 'clip.MOV')).toBe('mov');
  });
  it('falls back to the first name, or none', () => {
    expect(containerName('mov,mp4,m4a,3gp,3g2,mj2', 'noext')).toBe('mov');
    expect(containerName('matroska,webm', 'a.mkv')).toBe('matroska');
    expect(containerName('wav', 'a.WAV')).toBe('wav');
    expect(containerName(null, 'a.mp4')).toBeNull();
  });
});
