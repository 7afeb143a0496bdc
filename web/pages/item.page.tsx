import { useEffect, useRef, useState } from 'preact/hooks';
import { api, BASE, me, type Derivative, type EvidenceDetail } from '../api.client.ts';
import { bytes, dateTime, duration } from '../format.ts';
import { t, tx } from '../i18n.ts';
import { RedactionEditor } from '../redaction-editor.tsx';
import { A, errorLine, FlagBadges, Page, Show, useLoad } from '../ui.tsx';

type Permission = 'allow' | 'approval' | 'deny';
type Detail = EvidenceDetail & { may: Record<'play' | 'download' | 'export' | 'tag' | 'link' | 'verify', Permission> };

export function ItemPage({ id }: { id: string }) {
  const loaded = useLoad(() => api.get<Detail>(`/evidence/${encodeURIComponent(id)}`), [id]);
  return (
    <Page title={t('itemTitle')}>
      <Show loaded={loaded}>{(d) => <Item detail={d} reload={loaded.reload} />}</Show>
    </Page>
  );
}

function Item({ detail, reload }: { detail: Detail; reload: () => void }) {
  const { item, may } = detail;
  const proxy = detail.derivatives.find((d) => d.kind === 'proxy');
  const storyboard = detail.derivatives.find((d) => d.kind === 'storyboard');
  const poster = detail.derivatives.find((d) => d.kind === 'poster');
  return (
    <div class="item-layout">
      <div class="item-main">
        <section class="card">
          <h2>{t('player')}</h2>
          {may.play !== 'allow' ? (
            <p class="notice">{t('playbackNeedsApproval')}</p>
          ) : proxy ? (
            <Player proxy={proxy} storyboard={storyboard ?? null} poster={poster?.url ?? null} photo={item.mediaType === 'photo'} />
          ) : item.mediaType === 'photo' && poster ? (
            <img class="photo" src={poster.url} alt={item.originalName} />
          ) : (
            <p class="muted">{t('noProxy')}</p>
          )}
          <div class="row">
            {may.download === 'allow' && (
              <a class="button" href={`${BASE}/evidence/${item.evidenceId}/original`} download>
                {t('downloadOriginal')}
              </a>
            )}
            {(may.play === 'approval' || may.download === 'approval' || may.export === 'approval') && <AccessRequest evidenceId={item.evidenceId} may={may} />}
          </div>
        </section>
        {me.value?.role === 'custodian' && may.play === 'allow' && item.mediaType === 'video' && proxy?.contentType === 'video/mp4' && <RedactionEditor evidenceId={item.evidenceId} proxy={proxy} />}
        <Timeline events={detail.timeline} />
      </div>
      <aside class="item-side">
        <FiveFields detail={detail} onSaved={reload} />
        <Verify id={item.evidenceId} allowed={may.verify === 'allow'} last={detail.verification.lastFixityCheck} onDone={reload} />
        {KEEPERS.has(me.value?.role ?? '') && <Keeping id={item.evidenceId} />}
        <Metadata detail={detail} />
      </aside>
    </div>
  );
}

// ---- the player --------------------------------------------------------------------------

function Player({ proxy, storyboard, poster }: { proxy: Derivative; storyboard: Derivative | null; poster: string | null; photo: boolean }) {
  const video = useRef<HTMLVideoElement>(null);
  const [hover, setHover] = useState<{ x: number; time: number } | null>(null);
  const [time, setTime] = useState(0);
  const [length, setLength] = useState(proxy.durationSeconds ?? 0);
  const fps = 25;

  const onKey = (e: KeyboardEvent) => {
    const v = video.current;
    if (!v || (e.target as HTMLElement).closest('input, textarea, select')) return;
    if (e.key === ' ' || e.key === 'k') {
      e.preventDefault();
      if (v.paused) void v.play();
      else v.pause();
    } else if (e.key === 'ArrowRight') {
      e.preventDefault();
      v.currentTime = Math.min(v.duration || Infinity, v.currentTime + 5);
    } else if (e.key === 'ArrowLeft') {
      e.preventDefault();
      v.currentTime = Math.max(0, v.currentTime - 5);
    } else if (e.key === '.' || e.key === ',') {
      e.preventDefault();
      v.pause();
      v.currentTime = Math.max(0, v.currentTime + (e.key === '.' ? 1 : -1) / fps);
    }
  };
  useEffect(() => {
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const sb = storyboard?.storyboard ?? null;
  const onMove = (e: MouseEvent) => {
    const bar = e.currentTarget as HTMLElement;
    const r = bar.getBoundingClientRect();
    const x = Math.min(Math.max(0, e.clientX - r.left), r.width);
    setHover({ x, time: length > 0 ? (x / r.width) * length : 0 });
  };
  const seekTo = (e: MouseEvent) => {
    const v = video.current;
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    if (v && length > 0) v.currentTime = ((e.clientX - r.left) / r.width) * length;
  };
  const tile = (seconds: number) => {
    if (!sb || !storyboard) return null;
    const n = Math.min(sb.frames - 1, Math.floor(seconds / sb.intervalSeconds));
    return { backgroundImage: `url(${storyboard.url})`, backgroundPosition: `-${(n % sb.columns) * sb.tileWidth}px -${Math.floor(n / sb.columns) * sb.tileHeight}px`, width: `${sb.tileWidth}px`, height: `${sb.tileHeight}px` };
  };
  const thumb = hover ? tile(hover.time) : null;
  return (
    <div class="player">
      <video
        ref={video}
        src={proxy.url}
        poster={poster ?? undefined}
        controls
        preload="metadata"
        playsInline
        onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        onLoadedMetadata={(e) => Number.isFinite(e.currentTarget.duration) && setLength(e.currentTarget.duration)}
        aria-label={t('player')}
      />
      <div class="scrub" onMouseMove={onMove} onMouseLeave={() => setHover(null)} onClick={seekTo} role="presentation" data-testid="scrub">
        <span class="scrub-done" style={{ width: `${length > 0 ? (time / length) * 100 : 0}%` }} />
        {hover && (
          <span class="scrub-preview" style={{ left: `${hover.x}px` }}>
            {thumb && <span class="scrub-tile" style={thumb} />}
            <span class="scrub-time">{duration(hover.time)}</span>
          </span>
        )}
      </div>
      <p class="muted small">
        {duration(time)} / {duration(length)} · {t('shortcuts')}
      </p>
    </div>
  );
}

// ---- the five fields -----------------------------------------------------------------------

function FiveFields({ detail, onSaved }: { detail: Detail; onSaved: () => void }) {
  const { item } = detail;
  const canEdit = detail.may.tag === 'allow';
  const [editing, setEditing] = useState(false);
  const [cases, setCases] = useState(item.caseNumbers.join(', '));
  const [subject, setSubject] = useState(item.subject ?? '');
  const [place, setPlace] = useState(item.place ?? '');
  const [officer, setOfficer] = useState(item.collector.officerId ?? '');
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const missing = (f: string) => item.missing.includes(f as never);
  const save = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    if (reason.trim().length < 2) return setProblem(t('reasonRequired'));
    const patch: Record<string, unknown> = { reason: reason.trim() };
    const caseList = cases.split(/[,，\s]+/).filter(Boolean);
    if (caseList.join(',') !== item.caseNumbers.join(',')) patch.caseNumbers = caseList;
    if (subject.trim() && subject.trim() !== (item.subject ?? '')) patch.subject = subject.trim();
    if (place.trim() && place.trim() !== (item.place ?? '')) patch.place = place.trim();
    if (officer.trim() && officer.trim() !== (item.collector.officerId ?? '')) patch.officerId = officer.trim();
    try {
      await api.patch(`/evidence/${item.evidenceId}`, patch);
      setSaved(true);
      setEditing(false);
      setReason('');
      onSaved();
    } catch (error) {
      setProblem(errorLine(error));
    }
  };
  const row = (field: string, value: preact.ComponentChildren) => (
    <div class={missing(field) ? 'field missing' : 'field'}>
      <dt>{tx('field', field)}</dt>
      <dd>{missing(field) ? <span class="missing-field">{t('missing')}</span> : value}</dd>
    </div>
  );
  return (
    <section class="card">
      <h2>{t('fields')}</h2>
      <FlagBadges flags={item.flags} missing={item.missing} />
      {!editing ? (
        <>
          <dl class="fields">
            {row('caseNumber', item.caseNumbers.map((c) => <A key={c} href={`/cases/${encodeURIComponent(c)}`}>{c} </A>))}
            {row('captureTime', `${dateTime(item.capturedAt)} – ${dateTime(item.capturedUntil)}`)}
            {row('place', item.place)}
            {row('collector', `${item.collector.name ?? ''} ${item.collector.officerId ?? ''}`)}
            {row('subject', item.subject)}
          </dl>
          {saved && <p class="ok">{t('fieldsSaved')}</p>}
          {canEdit && (
            <button type="button" onClick={() => setEditing(true)}>
              {t('editFields')}
            </button>
          )}
        </>
      ) : (
        <form onSubmit={save} class="stack">
          <label>
            {t('field_caseNumber')}
            <input name="caseNumbers" value={cases} onInput={(e) => setCases(e.currentTarget.value)} aria-describedby="cases-hint" />
            <span id="cases-hint" class="muted small">
              {t('caseNumbersHint')}
            </span>
          </label>
          <label>
            {t('field_subject')}
            <input name="subject" value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
          </label>
          <label>
            {t('field_place')}
            <input name="place" value={place} onInput={(e) => setPlace(e.currentTarget.value)} />
          </label>
          <label>
            {t('field_collector')}
            <input name="officerId" value={officer} onInput={(e) => setOfficer(e.currentTarget.value)} />
          </label>
          <label>
            {t('reason')} ({t('required')})
            <textarea name="reason" required minLength={2} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          {problem && (
            <p class="error" role="alert">
              {problem}
            </p>
          )}
          <div class="row">
            <button type="submit" class="primary">
              {t('saveFields')}
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              {t('cancel')}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

// ---- verification, metadata, timeline, access request ---------------------------------------

function Verify({ id, allowed, last, onDone }: { id: string; allowed: boolean; last: { at: string; ok: boolean } | null; onDone: () => void }) {
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const run = async () => {
    setState({ busy: true, text: null, ok: true });
    try {
      const r = await api.post<{ ok: boolean; problems: string[]; at: string }>(`/evidence/${id}/verify`);
      setState({ busy: false, ok: r.ok, text: r.ok ? t('verifyOk', { at: dateTime(r.at) }) : t('verifyBad', { problems: r.problems.join('；') }) });
      onDone();
    } catch (error) {
      setState({ busy: false, ok: false, text: errorLine(error) });
    }
  };
  return (
    <section class="card">
      <h2>{t('hashes')}</h2>
      {last && <p class={last.ok ? 'ok' : 'error'}>{last.ok ? t('verifyOk', { at: dateTime(last.at) }) : t('verifyBad', { problems: '' })}</p>}
      {allowed && (
        <button type="button" onClick={run} disabled={state.busy}>
          {state.busy ? t('verifying') : t('verifyNow')}
        </button>
      )}
      {state.text && (
        <p class={state.ok ? 'ok verify-result' : 'error verify-result'} role="status">
          {state.text}
        </p>
      )}
    </section>
  );
}

interface Retention {
  class: 'unlinked' | 'case' | 'major-case';
  retainUntil: string;
  legalHold: boolean;
  holdReason: string | null;
}

/** Who sees how long a record is kept (custodians change its hold). */
const KEEPERS = new Set(['custodian', 'supervisor', 'auditor']);

function Keeping({ id }: { id: string }) {
  const loaded = useLoad(() => api.get<Retention>(`/evidence/${id}/retention`), [id]);
  const [reason, setReason] = useState('');
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const toggle = async (on: boolean) => {
    setState({ busy: true, text: null, ok: true });
    try {
      await api.post(`/evidence/${id}/hold`, { on, reason });
      setState({ busy: false, text: on ? t('holdSet') : t('holdReleased'), ok: true });
      setReason('');
      loaded.reload();
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };
  return (
    <section class="card" aria-label={t('keepingTitle')}>
      <h2>{t('keepingTitle')}</h2>
      <Show loaded={loaded}>
        {(r) => (
          <>
            <dl class="fields">
              <dt>{t('retentionClass')}</dt>
              <dd data-testid="retention-class">{t(`retention_${r.class === 'major-case' ? 'major' : r.class}`)}</dd>
              <dt>{t('retainUntil')}</dt>
              <dd>{dateTime(r.retainUntil)}</dd>
              <dt>{t('legalHold')}</dt>
              <dd data-testid="legal-hold">{r.legalHold ? `${t('yes')}（${r.holdReason ?? ''}）` : t('no')}</dd>
            </dl>
            {me.value?.role === 'custodian' && (
              <div class="row">
                <label>
                  {t('preserveReason')}
                  <input name="holdReason" minLength={2} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                </label>
                <button type="button" disabled={state.busy || reason.trim().length < 2} onClick={() => void toggle(!r.legalHold)}>
                  {r.legalHold ? t('holdRelease') : t('holdSetButton')}
                </button>
              </div>
            )}
          </>
        )}
      </Show>
      {state.text && (
        <p class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </p>
      )}
    </section>
  );
}

function Metadata({ detail }: { detail: Detail }) {
  const { item, media } = detail;
  const dev = [media.device.make, media.device.model, media.device.serial].filter(Boolean).join(' ');
  return (
    <section class="card">
      <h2>{t('metadata')}</h2>
      <dl class="fields">
        <dt>{t('recorder')}</dt>
        <dd>{item.recorderSerial}</dd>
        <dt>{t('device')}</dt>
        <dd>{dev || '—'}</dd>
        <dt>{t('codec')}</dt>
        <dd>{[media.container, media.videoCodec, media.audioCodec].filter(Boolean).join(' / ') || '—'}</dd>
        <dt>{t('resolution')}</dt>
        <dd>{media.width && media.height ? `${media.width}×${media.height}${media.frameRate ? ` @ ${media.frameRate.toFixed(2)}` : ''}` : '—'}</dd>
        <dt>{t('duration')}</dt>
        <dd>{duration(item.durationSeconds)}</dd>
        <dt>{t('colSize')}</dt>
        <dd>{bytes(item.size)}</dd>
        <dt>SHA-256</dt>
        <dd class="hash">{item.sha256}</dd>
        {item.sm3 && (
          <>
            <dt>SM3</dt>
            <dd class="hash">{item.sm3}</dd>
          </>
        )}
        <dt>{t('gps')}</dt>
        <dd>{media.gps ? <MiniMap lat={media.gps.latitude} lon={media.gps.longitude} /> : t('noGps')}</dd>
      </dl>
      <h3>{t('derivatives')}</h3>
      <ul class="plain">
        {detail.derivatives.map((d) => (
          <li key={d.kind}>
            {d.kind} · {d.contentType} · {bytes(d.size)}
            {d.width ? ` · ${d.width}×${d.height}` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A position without map tiles: a graticule around the point, and its coordinates. */
function MiniMap({ lat, lon }: { lat: number; lon: number }) {
  const span = 0.02;
  const x = (v: number) => ((v - (lon - span)) / (2 * span)) * 200;
  const y = (v: number) => 120 - ((v - (lat - span * 0.6)) / (1.2 * span)) * 120;
  const lines = [-2, -1, 0, 1, 2].map((k) => k * 0.01);
  return (
    <figure class="minimap">
      <svg viewBox="0 0 200 120" width="200" height="120" role="img" aria-label={`${lat.toFixed(6)}, ${lon.toFixed(6)}`}>
        <rect width="200" height="120" fill="#eef3f7" />
        {lines.map((d) => (
          <line key={`v${d}`} x1={x(lon + d)} x2={x(lon + d)} y1={0} y2={120} stroke="#c9d6e2" />
        ))}
        {lines.map((d) => (
          <line key={`h${d}`} y1={y(lat + d)} y2={y(lat + d)} x1={0} x2={200} stroke="#c9d6e2" />
        ))}
        <circle cx={100} cy={60} r={6} fill="#c0392b" stroke="#fff" stroke-width="2" />
      </svg>
      <figcaption>
        {lat.toFixed(6)}°{lat >= 0 ? 'N' : 'S'}, {lon.toFixed(6)}°{lon >= 0 ? 'E' : 'W'}
      </figcaption>
    </figure>
  );
}

function Timeline({ events }: { events: Detail['timeline'] }) {
  return (
    <section class="card">
      <h2>{t('timeline')}</h2>
      <ol class="timeline">
        {events.map((e) => (
          <li key={e.seq} data-type={e.type}>
            <span class="when">{dateTime(e.at)}</span>
            <strong>{tx('event', e.type)}</strong> <code>{e.type}</code>
            <span class="muted">
              {' '}
              · {t('by')} {String(e.details.by ?? e.actor.id)} · {t('signedBy')} {e.workstationId}
            </span>
            {typeof e.details.reason === 'string' && <span class="reason"> · {e.details.reason}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function AccessRequest({ evidenceId, may }: { evidenceId: string; may: Detail['may'] }) {
  const wanted = (['play', 'download', 'export'] as const).filter((a) => may[a] === 'approval');
  const [open, setOpen] = useState(false);
  const [purpose, setPurpose] = useState('');
  const [actions, setActions] = useState<string[]>(wanted.slice(0, 1));
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api.post('/access-requests', { evidenceId, actions: ['view', ...actions], purpose });
      setResult({ ok: true, text: t('requestSent') });
      setOpen(false);
    } catch (error) {
      setResult({ ok: false, text: errorLine(error) });
    }
  };
  return (
    <div class="access-request">
      {!open && (
        <button type="button" onClick={() => setOpen(true)}>
          {t('requestAccess')}
        </button>
      )}
      {open && (
        <form onSubmit={submit} class="stack card inset">
          <fieldset>
            <legend>{t('requestActions')}</legend>
            {wanted.map((a) => (
              <label key={a} class="check">
                <input type="checkbox" name={`action-${a}`} checked={actions.includes(a)} onChange={(e) => setActions((s) => (e.currentTarget.checked ? [...s, a] : s.filter((x) => x !== a)))} />
                {tx('action', a)}
              </label>
            ))}
          </fieldset>
          <label>
            {t('requestPurpose')}
            <textarea name="purpose" required minLength={4} value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
          </label>
          <div class="row">
            <button type="submit" class="primary">
              {t('requestAccess')}
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              {t('cancel')}
            </button>
          </div>
        </form>
      )}
      {result && (
        <p class={result.ok ? 'ok' : 'error'} role="status">
          {result.text}
        </p>
      )}
    </div>
  );
}
