import type { EvidockConfig } from '../config/config.schema.ts';
import type { EvidenceRow, MediaFacts } from '../storage/catalog.repository.ts';
import { JobName } from './job.types.ts';
import { zonedLocalToUtc } from './transfer-deadline.ts';
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
  /** Flags of missing fields that metadata filled. */
  flagsToRemove: string[];
  next: JobName[];
}

/** Two capture times further apart than this disagree (recorders round and lag a little). */
const MISMATCH_TOLERANCE_MS = 5 * 60_000;

export function decideMetadata(
  evidence: EvidenceRow,
  probe: ProbeOutcome,
  embedded: EmbeddedMetadata,
  context: { now: Date; settings: EvidockConfig['media']; recorderTimeZone?: string },
): MetadataDecision {
  const timeZone = context.recorderTimeZone ?? 'Asia/Shanghai';
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
  let hasVideo = false;
  if (!probe.ok) {
    media.status = 'unplayable';
    media.problem = probe.error;
  } else {
    const info = probe.info;
    const video = firstOf(info.streams, 'video');
    const audio = firstOf(info.streams, 'audio');
    hasVideo = Boolean(video);
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
    // Zero only when a duration is known to be zero; an unknown one (a live-written file)
    // is left to ffmpeg to judge.
    const durations = [info.durationSeconds, video?.durationSeconds, audio?.durationSeconds].filter((d): d is number => d !== null && d !== undefined);
    const zeroLength = timed && durations.length > 0 && durations.every((d) => d <= 0);
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

  const embeddedTime = parseTime(embedded.createDate, timeZone) ?? (probe.ok ? parseTime(probe.info.tags.creation_time, timeZone) : null);
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
  let placeFilled = false;
  if (!evidence.place && gps) {
    capture.place = `GPS ${gps.latitude.toFixed(6)},${gps.longitude.toFixed(6)}`;
    placeFilled = true;
  }
  if (embedded.serialNumber && !sameSerial(embedded.serialNumber, evidence.recorderSerial)) flags.push('device-serial-mismatch');

  const next: JobName[] = [];
  if (playable || evidence.mediaType === 'photo') {
    if (evidence.mediaType === 'video' || evidence.mediaType === 'audio') next.push(JobName.Proxy);
    // A "video" by its extension that holds only sound has no frame to show.
    if ((evidence.mediaType === 'video' && hasVideo) || evidence.mediaType === 'photo') next.push(JobName.Thumbnails);
  }
  return {
    media,
    capture,
    flagsToAdd: flags.filter((f) => !evidence.flags.includes(f)),
    flagsToRemove: placeFilled ? ['missing-place'] : [],
    next,
  };
}

function firstOf(streams: readonly StreamInfo[], kind: StreamInfo['kind']): StreamInfo | undefined {
  return streams.find((s) => s.kind === kind);
}

/**
 * A time with an offset (or Z) is absolute. One without is the recorder's wall clock (the
 * exiftool adapter passes EXIF/AVI dates that way) and is read in the recorders' zone, never
 * in the zone of whichever host runs the job.
 */
function parseTime(value: string | null | undefined, timeZone: string): Date | null {
  if (!value) return null;
  const local = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value.trim());
  const d = local ? zonedLocalToUtc(value.trim(), timeZone) : new Date(value);
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
  // Receivers without a fix write 0,0.
  if (latitude === 0 && longitude === 0) return null;
  return { latitude, longitude, altitude: m[3] ? Number(m[3]) : null };
}
