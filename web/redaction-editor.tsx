import { useRef, useState } from 'preact/hooks';
import { boxAt, type AudioMode, type AudioRange, type BoxMode, type Keyframe, type Rect, type RedactionBox, type RedactionSpec, type TimeRange } from '../archive/redaction-project.ts';
import { api, type Derivative } from './api.client.ts';
import { dateTime, duration } from './format.ts';
import { t } from './i18n.ts';
import { SuggestionBoxes, SuggestionPanel, useSuggestions } from './redaction-suggestions.tsx';
import { errorLine, Show, useLoad } from './ui.tsx';

/**
 * The item page's redaction editor (脱敏处理), for custodians: boxes drawn on the paused proxy
 * frame become keyframes at the current time (the box moves linearly between them, as the
 * render does: the same boxAt), full-frame blur and audio ranges from the player's time, saved
 * as a new version, rendered on the server, and the copy played back. The recording itself
 * is never changed; everything goes through the API.
 */

interface Listing {
  projects: Array<{
    projectId: string;
    createdBy: string;
    createdAt: string;
    versions: Array<{
      version: number;
      author: string;
      note: string | null;
      savedAt: string;
      spec: RedactionSpec;
      render: { state: 'rendered' | 'queued' | 'running' | 'failed' | 'none'; reason: string | null; file: { url: string } | null };
    }>;
  }>;
}

/** A drawn rectangle smaller than this (a click) is not a box. */
const MIN_SIDE = 0.01;
const FPS = 25;

export function RedactionEditor({ evidenceId, proxy }: { evidenceId: string; proxy: Derivative }) {
  const loaded = useLoad(() => api.get<Listing>(`/evidence/${evidenceId}/redactions`), [evidenceId]);
  const suggestions = useSuggestions(evidenceId);
  const video = useRef<HTMLVideoElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const [time, setTime] = useState(0);
  const [paused, setPaused] = useState(true);
  const [projectId, setProjectId] = useState<string | null>(null);
  const [boxes, setBoxes] = useState<RedactionBox[]>([]);
  const [blurRanges, setBlurRanges] = useState<TimeRange[]>([]);
  const [audioRanges, setAudioRanges] = useState<AudioRange[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [draft, setDraft] = useState<{ x0: number; y0: number; x1: number; y1: number } | null>(null);
  const [range, setRange] = useState({ from: '', to: '', audioMode: 'mute' as AudioMode });
  const [note, setNote] = useState('');
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const length = proxy.durationSeconds ?? 0;
  const round = (v: number) => Math.round(v * 1000) / 1000;

  const open = (listing: Listing, id: string | null) => {
    setProjectId(id);
    const latest = listing.projects.find((p) => p.projectId === id)?.versions.at(-1);
    setBoxes(latest?.spec.boxes ?? []);
    setBlurRanges(latest?.spec.blurRanges ?? []);
    setAudioRanges(latest?.spec.audioRanges ?? []);
    setSelected(null);
    setStatus(null);
  };

  const at = (e: PointerEvent) => {
    const r = stage.current!.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)) };
  };
  const onDown = (e: PointerEvent) => {
    if (!paused) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    const p = at(e);
    setDraft({ x0: p.x, y0: p.y, x1: p.x, y1: p.y });
  };
  const onMove = (e: PointerEvent) => {
    if (!draft) return;
    const p = at(e);
    setDraft({ ...draft, x1: p.x, y1: p.y });
  };
  const onUp = () => {
    if (!draft) return;
    const rect: Rect = { x: round(Math.min(draft.x0, draft.x1)), y: round(Math.min(draft.y0, draft.y1)), w: round(Math.abs(draft.x1 - draft.x0)), h: round(Math.abs(draft.y1 - draft.y0)) };
    setDraft(null);
    if (rect.w < MIN_SIDE || rect.h < MIN_SIDE) return;
    keyframe(rect);
  };

  /** The selected box gets a keyframe at the current time (replacing one there); with none selected, a new box starts. */
  const keyframe = (rect: Rect) => {
    const kf: Keyframe = { t: round(time), ...rect };
    if (selected && boxes.some((b) => b.id === selected)) {
      setBoxes(boxes.map((b) => (b.id === selected ? { ...b, keyframes: [...b.keyframes.filter((k) => Math.abs(k.t - kf.t) > 0.0005), kf].sort((a, c) => a.t - c.t) } : b)));
    } else {
      let n = boxes.length + 1;
      while (boxes.some((b) => b.id === `box-${n}`)) n++;
      const id = `box-${n}`;
      setBoxes([...boxes, { id, shape: 'rect', mode: 'blur', keyframes: [kf] }]);
      setSelected(id);
    }
  };
  /** Where a box is drawn now: interpolated, or a lone keyframe's place (a box with one keyframe is not yet saved). */
  const shown = (b: RedactionBox): Rect | null => boxAt(b, time) ?? (b.keyframes.length === 1 ? b.keyframes[0]! : null);

  const step = (frames: number) => {
    const v = video.current;
    if (!v) return;
    v.pause();
    v.currentTime = Math.min(length || v.duration || 0, Math.max(0, v.currentTime + frames / FPS));
  };
  const seconds = (s: string) => (s.trim() === '' ? Number.NaN : Number(s));
  const addRange = (kind: 'blur' | 'audio') => {
    const r = { from: seconds(range.from), to: seconds(range.to) };
    if (!Number.isFinite(r.from) || !Number.isFinite(r.to) || r.to <= r.from) return setStatus({ ok: false, text: t('redactBadRange') });
    if (kind === 'blur') setBlurRanges([...blurRanges, r]);
    else setAudioRanges([...audioRanges, { ...r, mode: range.audioMode }]);
    setRange({ ...range, from: '', to: '' });
    setStatus(null);
  };

  const save = async (reload: () => void) => {
    setStatus(null);
    if (boxes.some((b) => b.keyframes.length < 2)) return setStatus({ ok: false, text: t('redactNeedTwo') });
    try {
      const saved = await api.post<{ projectId: string; version: number }>(`/evidence/${evidenceId}/redactions`, {
        ...(projectId ? { projectId } : {}),
        spec: { boxes, blurRanges, audioRanges },
        ...(note.trim() ? { note: note.trim() } : {}),
      });
      setProjectId(saved.projectId);
      setNote('');
      setStatus({ ok: true, text: t('redactSaved', { version: saved.version }) });
      reload();
    } catch (error) {
      setStatus({ ok: false, text: errorLine(error) });
    }
  };
  const render = async (pid: string, version: number, reload: () => void) => {
    try {
      const r = await api.post<{ state: string }>(`/evidence/${evidenceId}/redactions/${pid}/render`, { version });
      setStatus({ ok: true, text: r.state === 'rendered' ? t('redactState_rendered') : t('redactQueued') });
      reload();
    } catch (error) {
      setStatus({ ok: false, text: errorLine(error) });
    }
  };

  const ratio = proxy.width && proxy.height ? `${proxy.width} / ${proxy.height}` : '16 / 9';
  return (
    <section class="card redaction" aria-label={t('redactTitle')}>
      <h2>{t('redactTitle')}</h2>
      <p class="muted small">{t('redactHint')}</p>
      <Show loaded={loaded}>
        {(listing) => (
          <>
            <div class="row">
              <label>
                {t('redactProject')}
                <select name="redactionProject" value={projectId ?? ''} onChange={(e) => open(listing, e.currentTarget.value || null)}>
                  <option value="">{t('redactNewProject')}</option>
                  {listing.projects.map((p) => (
                    <option key={p.projectId} value={p.projectId}>
                      {p.projectId.slice(0, 8)} · {p.createdBy} · v{p.versions.at(-1)?.version ?? 0}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <div class="redact-stage" ref={stage} style={{ aspectRatio: ratio }} onPointerDown={onDown} onPointerMove={onMove} onPointerUp={onUp} data-testid="redact-stage">
              <video
                ref={video}
                src={proxy.url}
                preload="auto"
                playsInline
                onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
                onSeeked={(e) => setTime(e.currentTarget.currentTime)}
                onPlay={() => setPaused(false)}
                onPause={() => setPaused(true)}
                aria-label={t('redactTitle')}
              />
              {boxes.map((b) => {
                const r = shown(b);
                return (
                  r && (
                    <span
                      key={b.id}
                      class={`redact-box ${b.id === selected ? 'selected' : ''} ${b.keyframes.some((k) => Math.abs(k.t - time) < 0.5 / FPS) ? 'at-keyframe' : ''}`}
                      style={{ left: `${r.x * 100}%`, top: `${r.y * 100}%`, width: `${r.w * 100}%`, height: `${r.h * 100}%` }}
                      onPointerDown={(e) => {
                        if (!paused) return;
                        e.stopPropagation();
                        setSelected(b.id);
                      }}
                    >
                      {b.id}
                    </span>
                  )
                );
              })}
              {suggestions.data && <SuggestionBoxes runs={suggestions.data.runs} time={time} />}
              {draft && (
                <span
                  class="redact-box draft"
                  style={{ left: `${Math.min(draft.x0, draft.x1) * 100}%`, top: `${Math.min(draft.y0, draft.y1) * 100}%`, width: `${Math.abs(draft.x1 - draft.x0) * 100}%`, height: `${Math.abs(draft.y1 - draft.y0) * 100}%` }}
                />
              )}
            </div>
            <div class="row">
              <button type="button" onClick={() => (paused ? void video.current?.play() : video.current?.pause())}>
                {paused ? t('redactPlay') : t('redactPause')}
              </button>
              <button type="button" onClick={() => step(-1)} aria-label={t('redactFrameBack')}>
                ‹
              </button>
              <button type="button" onClick={() => step(1)} aria-label={t('redactFrameForward')}>
                ›
              </button>
              <input
                type="range"
                name="redactTime"
                min={0}
                max={length}
                step={1 / FPS}
                value={time}
                aria-label={t('redactTime')}
                onInput={(e) => {
                  const v = video.current;
                  if (v) v.currentTime = Number(e.currentTarget.value);
                }}
              />
              <span class="muted small" data-testid="redact-time">
                {duration(time)} ({time.toFixed(2)} s)
              </span>
            </div>

            <h3>{t('redactBoxes')}</h3>
            <ul class="plain redact-list">
              {boxes.map((b) => (
                <li key={b.id} class={b.id === selected ? 'selected' : ''}>
                  <button type="button" class="link" onClick={() => setSelected(b.id === selected ? null : b.id)}>
                    {b.id}
                  </button>{' '}
                  <select value={b.mode} aria-label={t('redactMode')} onChange={(e) => setBoxes(boxes.map((x) => (x.id === b.id ? { ...x, mode: e.currentTarget.value as BoxMode } : x)))}>
                    <option value="blur">{t('redactModeBlur')}</option>
                    <option value="pixelate">{t('redactModePixelate')}</option>
                  </select>{' '}
                  <span class="muted small">
                    {t('redactKeyframes', { count: b.keyframes.length })}: {b.keyframes.map((k) => `${k.t}s`).join(' → ')}
                  </span>{' '}
                  <button
                    type="button"
                    disabled={!paused || !shown(b)}
                    onClick={() => {
                      const r = shown(b);
                      if (!r) return;
                      setSelected(b.id);
                      setBoxes(boxes.map((x) => (x.id === b.id ? { ...x, keyframes: [...x.keyframes.filter((k) => Math.abs(k.t - round(time)) > 0.0005), { t: round(time), x: r.x, y: r.y, w: r.w, h: r.h }].sort((p, q) => p.t - q.t) } : x)));
                    }}
                  >
                    {t('redactAddKeyframe')}
                  </button>{' '}
                  <button type="button" onClick={() => setBoxes(boxes.filter((x) => x.id !== b.id))}>
                    {t('redactDelete')}
                  </button>
                </li>
              ))}
            </ul>

            <SuggestionPanel
              evidenceId={evidenceId}
              loaded={suggestions}
              projectId={projectId}
              onAccepted={(accepted, box) => {
                // The server saved it as a version of the project; here it joins the boxes being edited, unsaved edits kept.
                setProjectId(accepted.projectId);
                setBoxes((current) => [...current.filter((b) => b.id !== box.id), box]);
                loaded.reload();
              }}
            />

            <h3>{t('redactRanges')}</h3>
            <div class="row">
              {(['from', 'to'] as const).map((end) => (
                <span key={end}>
                  <label>
                    {t(end === 'from' ? 'redactFrom' : 'redactTo')}
                    <input name={`range-${end}`} inputMode="decimal" size={6} value={range[end]} onInput={(e) => setRange({ ...range, [end]: e.currentTarget.value })} />
                  </label>
                  <button type="button" onClick={() => setRange({ ...range, [end]: String(round(time)) })}>
                    {t('redactNow')}
                  </button>
                </span>
              ))}
            </div>
            <div class="row">
              <button type="button" onClick={() => addRange('blur')}>
                {t('redactAddBlur')}
              </button>
              <select name="audioMode" value={range.audioMode} aria-label={t('redactAudioMode')} onChange={(e) => setRange({ ...range, audioMode: e.currentTarget.value as AudioMode })}>
                <option value="mute">{t('redactMute')}</option>
                <option value="tone">{t('redactTone')}</option>
              </select>
              <button type="button" onClick={() => addRange('audio')}>
                {t('redactAddAudio')}
              </button>
            </div>
            <ul class="plain redact-list">
              {blurRanges.map((r, i) => (
                <li key={`b${i}`}>
                  {t('redactFrameBlur')} {r.from}–{r.to} s{' '}
                  <button type="button" onClick={() => setBlurRanges(blurRanges.filter((_, j) => j !== i))}>
                    {t('redactDelete')}
                  </button>
                </li>
              ))}
              {audioRanges.map((r, i) => (
                <li key={`a${i}`}>
                  {r.mode === 'mute' ? t('redactMute') : t('redactTone')} {r.from}–{r.to} s{' '}
                  <button type="button" onClick={() => setAudioRanges(audioRanges.filter((_, j) => j !== i))}>
                    {t('redactDelete')}
                  </button>
                </li>
              ))}
            </ul>

            <div class="row">
              <label>
                {t('redactNote')}
                <input name="redactNote" maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
              </label>
              <button type="button" class="primary" onClick={() => void save(loaded.reload)}>
                {t('redactSave')}
              </button>
            </div>
            {status && (
              <p class={status.ok ? 'ok' : 'error'} role="status">
                {status.text}
              </p>
            )}

            {listing.projects
              .filter((p) => p.projectId === projectId)
              .map((p) => (
                <div key={p.projectId}>
                  <h3>{t('redactVersions')}</h3>
                  <ol class="plain redact-list">
                    {p.versions.map((v) => (
                      <li key={v.version} data-testid={`redact-version-${v.version}`}>
                        {t('redactVersion', { version: v.version, author: v.author, at: dateTime(v.savedAt) })}
                        {v.note ? ` · ${v.note}` : ''} · <span class={`render-${v.render.state}`}>{t(`redactState_${v.render.state}`)}</span>{' '}
                        {v.render.file ? (
                          <button type="button" onClick={() => setPlaying(v.render.file!.url)}>
                            {t('redactPlayCopy')}
                          </button>
                        ) : (
                          <button type="button" disabled={v.render.state === 'queued' || v.render.state === 'running'} onClick={() => void render(p.projectId, v.version, loaded.reload)}>
                            {t('redactRender')}
                          </button>
                        )}
                        {v.render.state !== 'rendered' && v.render.state !== 'none' && (
                          <button type="button" onClick={loaded.reload}>
                            {t('redactRefresh')}
                          </button>
                        )}
                        {v.render.reason && <span class="error small"> {v.render.reason}</span>}
                      </li>
                    ))}
                  </ol>
                </div>
              ))}
            {playing && <video class="redacted-copy" src={playing} controls autoPlay playsInline aria-label={t('redactPlayCopy')} data-testid="redacted-copy" />}
          </>
        )}
      </Show>
    </section>
  );
}
