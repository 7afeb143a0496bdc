import type { EvidockConfig } from '../config/config.schema.ts';
import type { EvidenceRow, MediaFacts } from '../storage/catalog.repository.ts';
import { JobName } from './job.types.ts';
import type { EmbeddedMetadata, ProbeOutcome, StreamInfo } from './media-tools.ts';

/**
 * What the metadata of an original means for its catalog entry. Pure: the media service
 * gathers the facts (ffprobe, exiftool) and applies the decision with its custody event.
 *
 * Metadata fills capture time and place only where the recorder's file name gave none; where
 * they disagree, or the recorder's clock looks wrong, the item is flagged — never silently
 * "fixed", because a wrong clock is itself evidence a reviewer must see.
 */

export interface MetadataDecision {
  media: Partial<MediaFacts>;
  capture: { captureStart?: Date; captureTimeSource?: string; place?: string };
  flagsToAdd: string[];
  next: JobName[];
}

/** Two capture times further apart than this disagree (recorders round and lag a little). */
const MISMATCH_TOLERANCE_MS = 5 * 60_000;

export function decideMetadata(
  evidence: EvidenceRow,
  probe: ProbeOutcome,
  embedded: EmbeddedMetadata,
  context: { now: Date; settings: EvidockConfig['media'] },
): MetadataDecision {
  const flags: string[] = [];
  const capture: MetadataDecision['capture'] = {};

  const media: Partial<MediaFacts> = {
    deviceMake: embedded.make ?? (probe.ok ? (probe.info.tags.make ?? probe.info.tags['com.apple.quicktime.make'] ?? null) : null),
    deviceModel: embedded.model ?? (probe.ok ? (probe.info.tags.model ?? probe.info.tags['com.apple.quicktime.model'] ?? null) : null),
    deviceSerial: embedded.serialNumber,
  };
  const gps = embedded.gps ?? (probe.ok ? parseIso6709(probe.info.tags.location ?? probe.info.tags['com.apple.quicktime.location.iso6709']) : null);
  media.gpsLatitude = gps?.latitude ?? null;
  media.gpsLongitude = gps?.longitude ?? null;

  let playable = false;
  if (!probe.ok) {
    media.status = 'unplayable';
    media.problem = probe.error;
  } else {
    const info = probe.info;
    const video = firstOf(info.streams, 'video');
    const audio = firstOf(info.streams, 'audio');
    media.container = info.container;
    media.durationSeconds = info.durationSeconds;
    media.videoCodec = video?.codec ?? null;
    media.audioCodec = audio?.codec ?? null;
    media.width = video?.width ?? null;
    media.height = video?.height ?? null;
    media.frameRate = evidence.mediaType === 'photo' ? null : (video?.frameRate ?? null);
    media.rotation = video?.rotation ?? null;
    const timed = evidence.mediaType === 'video' || evidence.mediaType === 'audio';
    const hasStream = Boolean(video || audio);
    const zeroLength = timed && (info.durationSeconds ?? 0) <= 0 && [video, audio].every((s) => !s || (s.durationSeconds ?? 0) <= 0);
    if (!hasStream) {
      media.status = 'unplayable';
      media.problem = 'no audio or video stream';
    } else if (zeroLength) {
      media.status = 'unplayable';
      media.problem = 'zero-length streams';
    } else {
      media.status = 'ok';
      media.problem = null;
      playable = true;
    }
    if (video?.variableFrameRate) flags.push('variable-frame-rate');
  }

  const embeddedTime = parseTime(embedded.createDate) ?? (probe.ok ? parseTime(probe.info.tags.creation_time) : null);
  if (embeddedTime) {
    if (evidence.captureTimeSource === 'file-time' || !evidence.captureStart) {
      capture.captureStart = embeddedTime;
      capture.captureTimeSource = 'metadata';
    } else if (Math.abs(embeddedTime.getTime() - evidence.captureStart.getTime()) > MISMATCH_TOLERANCE_MS) {
      flags.push('capture-time-mismatch');
    }
  }
  const effective = capture.captureStart ?? evidence.captureStart;
  if (effective) {
    const earliest = new Date(`${context.settings.earliestPlausibleCapture}T00:00:00Z`);
    const drift = context.settings.maxCaptureDriftHours * 3600_000;
    if (effective.getTime() < earliest.getTime()) flags.push('clock-implausible');
    else if (effective.getTime() > context.now.getTime() + 3600_000) flags.push('clock-in-future');
    else if (Math.abs(evidence.acquiredAt.getTime() - effective.getTime()) > drift) flags.push('clock-suspect');
  }
  if (!evidence.place && gps) capture.place = `GPS ${gps.latitude.toFixed(6)},${gps.longitude.toFixed(6)}`;
  if (embedded.serialNumber && !sameSerial(embedded.serialNumber, evidence.recorderSerial)) flags.push('device-serial-mismatch');

  const next: JobName[] = [];
  if (playable || evidence.mediaType === 'photo') {
    if (evidence.mediaType === 'video' || evidence.mediaType === 'audio') next.push(JobName.Proxy);
    if (evidence.mediaType === 'video' || evidence.mediaType === 'photo') next.push(JobName.Thumbnails);
  }
  return { media, capture, flagsToAdd: flags.filter((f) => !evidence.flags.includes(f)), next };
}

function firstOf(streams: readonly StreamInfo[], kind: StreamInfo['kind']): StreamInfo | undefined {
  return streams.find((s) => s.kind === kind);
}

function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A serial written into the file matches the recorder's when one contains the other (vendors pad and prefix). */
function sameSerial(a: string, b: string): boolean {
  const x = a.trim().toUpperCase();
  const y = b.trim().toUpperCase();
  return x === y || x.includes(y) || y.includes(x);
}

/** "+31.2304+121.4737/" or "+31.2304+121.4737+012.000/" (ISO 6709, as QuickTime writes it). */
export function parseIso6709(value: string | undefined): { latitude: number; longitude: number; altitude: number | null } | null {
  if (!value) return null;
  const m = /^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?\/?$/.exec(value.trim());
  if (!m) return null;
  const latitude = Number(m[1]);
  const longitude = Number(m[2]);
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  return { latitude, longitude, altitude: m[3] ? Number(m[3]) : null };
}
