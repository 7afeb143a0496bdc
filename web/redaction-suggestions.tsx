import { useEffect, useState } from 'preact/hooks';
import { boxAt, type RedactionBox, type RedactionSpec } from '../archive/redaction-project.ts';
import { api } from './api.client.ts';
import { dateTime } from './format.ts';
import { t } from './i18n.ts';
import { errorLine, useLoad, type Loaded } from './ui.tsx';

/**
 * Face suggestions in the redaction editor (遮挡建议): ask the server to detect faces, watch the
 * run, see each suggested track as a dashed box over the player at the current time, and
 * accept it (the server adds it to a new version of the project; the editor gets it as a
 * normal box to edit) or reject it. Decisions go through the API, each a custody event.
 */

export interface SuggestionRunView {
  runId: string;
  requestedBy: string;
  requestedAt: string;
  state: 'queued' | 'running' | 'done' | 'skipped' | 'failed';
  progress: number | null;
  model: string | null;
  framesPerSecond: number | null;
  frames: number | null;
  warning: string | null;
  suggestions: Array<{ n: number; box: RedactionBox; detections: number; meanScore: number; decision: 'pending' | 'accepted' | 'rejected'; decidedBy: string | null }>;
}

export interface Accepted {
  projectId: string;
  version: number;
  boxId: string;
  spec: RedactionSpec;
}

const POLL_MS = 1500;

/** The item's suggestion runs, polled while the newest one is still queued or running. */
export function useSuggestions(evidenceId: string): Loaded<{ runs: SuggestionRunView[] }> {
  const loaded = useLoad(() => api.get<{ runs: SuggestionRunView[] }>(`/evidence/${evidenceId}/redactions/suggestions`), [evidenceId]);
  const latest = loaded.data?.runs[0];
  const busy = latest?.state === 'queued' || latest?.state === 'running';
  useEffect(() => {
    if (!busy || loaded.loading) return;
    const timer = setTimeout(loaded.reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [busy, loaded.loading, loaded.data]);
  return loaded;
}

/** The newest run's undecided tracks, drawn where they are at `time`; they take no clicks, the stage keeps its drawing. */
export function SuggestionBoxes({ runs, time }: { runs: SuggestionRunView[]; time: number }) {
  const run = runs[0];
  if (!run) return null;
  return (
    <>
      {run.suggestions
        .filter((s) => s.decision === 'pending')
        .map((s) => {
          const r = boxAt(s.box, time);
          return (
            r && (
              <span
                key={s.n}
                class="redact-box suggested"
                data-testid={`suggested-box-${s.n}`}
                style={{ left: `${r.x * 100}%`, top: `${r.y * 100}%`, width: `${r.w * 100}%`, height: `${r.h * 100}%` }}
              >
                {t('suggestLabel', { n: s.n })}
              </span>
            )
          );
        })}
    </>
  );
}

export function SuggestionPanel({
  evidenceId,
  loaded,
  projectId,
  onAccepted,
}: {
  evidenceId: string;
  loaded: Loaded<{ runs: SuggestionRunView[] }>;
  projectId: string | null;
  onAccepted: (a: Accepted, box: RedactionBox) => void;
}) {
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const run = loaded.data?.runs[0] ?? null;
  const busy = run?.state === 'queued' || run?.state === 'running';

  const request = async () => {
    setStatus(null);
    try {
      await api.post(`/evidence/${evidenceId}/redactions/suggestions`, {});
      loaded.reload();
    } catch (error) {
      setStatus({ ok: false, text: errorLine(error) });
    }
  };
  const decide = async (n: number, decision: 'accept' | 'reject') => {
    if (!run) return;
    setStatus(null);
    try {
      const url = `/evidence/${evidenceId}/redactions/suggestions/${run.runId}/${n}/${decision}`;
      if (decision === 'accept') {
        const a = await api.post<Accepted>(url, projectId ? { projectId } : {});
        const box = a.spec.boxes.find((b) => b.id === a.boxId);
        if (box) onAccepted(a, box);
        setStatus({ ok: true, text: t('suggestAccepted', { n, version: a.version }) });
      } else {
        await api.post(url, {});
        setStatus({ ok: true, text: t('suggestRejected', { n }) });
      }
      loaded.reload();
    } catch (error) {
      setStatus({ ok: false, text: errorLine(error) });
    }
  };

  return (
    <div class="suggestions" aria-label={t('suggestTitle')}>
      <h3>{t('suggestTitle')}</h3>
      <p class="muted small">{t('suggestHint')}</p>
      <div class="row">
        <button type="button" disabled={busy} onClick={() => void request()}>
          {t('suggestRequest')}
        </button>
        {run && (
          <span class={`small suggest-${run.state}`} data-testid="suggest-state">
            {t(`suggestState_${run.state}`)}
            {run.state === 'running' && run.progress !== null ? ` ${Math.round(run.progress)}%` : ''}
            {run.state === 'done' ? ` · ${t('suggestSummary', { count: run.suggestions.length, frames: run.frames ?? 0, fps: run.framesPerSecond ?? 0, model: run.model ?? '' })}` : ''}
            {` · ${run.requestedBy} · ${dateTime(run.requestedAt)}`}
          </span>
        )}
      </div>
      {run?.warning && <p class={run.state === 'failed' ? 'error small' : 'muted small'}>{run.warning}</p>}
      {run && run.suggestions.length > 0 && (
        <ul class="plain redact-list">
          {run.suggestions.map((s) => (
            <li key={s.n} data-testid={`suggestion-${s.n}`}>
              {t('suggestLabel', { n: s.n })}{' '}
              <span class="muted small">
                {t('suggestTrack', { from: s.box.keyframes[0]!.t, to: s.box.keyframes.at(-1)!.t, detections: s.detections, score: s.meanScore.toFixed(2) })}
              </span>{' '}
              {s.decision === 'pending' ? (
                <>
                  <button type="button" onClick={() => void decide(s.n, 'accept')}>
                    {t('suggestAccept')}
                  </button>{' '}
                  <button type="button" onClick={() => void decide(s.n, 'reject')}>
                    {t('suggestReject')}
                  </button>
                </>
              ) : (
                <span class="small">{t(s.decision === 'accepted' ? 'suggestWasAccepted' : 'suggestWasRejected', { by: s.decidedBy ?? '' })}</span>
              )}
            </li>
          ))}
        </ul>
      )}
      {status && (
        <p class={status.ok ? 'ok' : 'error'} role="status">
          {status.text}
        </p>
      )}
    </div>
  );
}
