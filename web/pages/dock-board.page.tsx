import { useEffect, useState } from 'preact/hooks';
import { api, BASE, me, type Dock } from '../api.client.ts';
import { bytes, dateTime } from '../format.ts';
import { t, tx } from '../i18n.ts';
import { A, Empty, Loading, Page, Show, useLoad } from '../ui.tsx';

interface MissingRow {
  items: number;
  oldest: string | null;
}
interface Overdue {
  archiveDays: number;
  cases: Array<{ caseNumber: string; endedAt: string; daysLeft: number; pastDue: boolean }>;
  missingFields: { graceDays: number; byOfficer: Array<MissingRow & { officerId: string | null }>; byUnit: Array<MissingRow & { unitId: string | null }> };
}
interface Fixity {
  cycle: { items: { checked: number; total: number }; failed: number; expectedEndAt: string | null; overdue: boolean } | null;
  lastCompleted: { finishedAt: string; items: number; ledger: { ok: boolean } } | null;
  failures: Array<{ evidenceId: string; at: string | null; problems: string[] }>;
}

/** Who keeps the records (custodians) or watches over them: they see what needs doing first. */
const KEEPERS = new Set(['custodian', 'supervisor', 'auditor']);

/** What the rules ask of the archive that is due: cases to archive within their 30 days, records still missing a required field, failed fixity checks. */
function KeepingAlerts() {
  const loaded = useLoad(() => Promise.all([api.get<Overdue>('/preservation/overdue'), api.get<Fixity>('/fixity')]), []);
  return (
    <section class="card alerts" aria-label={t('alertsTitle')}>
      <h2>{t('alertsTitle')}</h2>
      <Show loaded={loaded}>
        {([overdue, fixity]) => (
          <div class="alert-columns">
            <div>
              <h3>{t('alertsArchive', { days: overdue.archiveDays })}</h3>
              {overdue.cases.length === 0 ? (
                <p class="muted">{t('alertsArchiveNone')}</p>
              ) : (
                <ul class="plain" data-testid="overdue-cases">
                  {overdue.cases.map((c) => (
                    <li key={c.caseNumber} class={c.pastDue ? 'error' : ''}>
                      <A href={`/cases/${encodeURIComponent(c.caseNumber)}`}>{c.caseNumber}</A> · {c.pastDue ? t('alertsPastDue', { days: -c.daysLeft }) : t('alertsDaysLeft', { days: c.daysLeft })}
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <div>
              <h3>{t('alertsMissing', { days: overdue.missingFields.graceDays })}</h3>
              {overdue.missingFields.byUnit.length === 0 ? (
                <p class="muted">{t('alertsMissingNone')}</p>
              ) : (
                <ul class="plain" data-testid="missing-fields">
                  {overdue.missingFields.byUnit.map((u) => (
                    <li key={`u-${u.unitId ?? ''}`}>
                      {u.unitId ? <A href={`/search?unit=${encodeURIComponent(u.unitId)}&flag=missing-case`}>{u.unitId}</A> : t('alertsNoUnit')} · {t('alertsMissingItems', { items: u.items })}
                    </li>
                  ))}
                  {overdue.missingFields.byOfficer.map((o) => (
                    <li key={`o-${o.officerId ?? ''}`} class="muted">
                      {o.officerId ? <A href={`/search?officer=${encodeURIComponent(o.officerId)}`}>{t('alertsOfficer', { officer: o.officerId })}</A> : t('alertsNoOfficer')} · {t('alertsMissingItems', { items: o.items })}
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <div>
              <h3>{t('alertsFixity')}</h3>
              {fixity.cycle ? (
                <p data-testid="fixity-progress">{t('alertsFixityCycle', { checked: fixity.cycle.items.checked, total: fixity.cycle.items.total })}</p>
              ) : fixity.lastCompleted ? (
                <p data-testid="fixity-progress">{t('alertsFixityLast', { at: dateTime(fixity.lastCompleted.finishedAt), items: fixity.lastCompleted.items })}</p>
              ) : (
                <p class="muted" data-testid="fixity-progress">{t('alertsFixityNone')}</p>
              )}
              {fixity.failures.length > 0 && (
                <ul class="plain" data-testid="fixity-failures">
                  {fixity.failures.map((f) => (
                    <li key={f.evidenceId} class="error">
                      <A href={`/evidence/${f.evidenceId}`}>{f.evidenceId.slice(0, 8)}</A> · {f.problems[0] ?? ''}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </div>
        )}
      </Show>
    </section>
  );
}

/**
 * The workstations' dock board, live: the server pushes the board (server-sent events) each
 * time it changes, and the browser's EventSource reconnects by itself after a cut.
 */
export function DockBoardPage() {
  const [docks, setDocks] = useState<Dock[] | null>(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const source = new EventSource(`${BASE}/docks/events`);
    source.addEventListener('board', (e) => {
      setDocks((JSON.parse((e as MessageEvent<string>).data) as { docks: Dock[] }).docks);
      setLive(true);
    });
    source.onerror = () => setLive(false);
    return () => source.close();
  }, []);

  const now = docks?.filter((d) => d.docked) ?? [];
  const recent = docks?.filter((d) => !d.docked) ?? [];
  return (
    <Page
      title={t('docksTitle')}
      actions={
        <span class={live ? 'live on' : 'live off'} role="status">
          {live ? `● ${t('docksLive')}` : t('docksOffline')}
        </span>
      }
    >
      {docks === null ? (
        <Loading />
      ) : (
        <>
          {KEEPERS.has(me.value?.role ?? '') && <KeepingAlerts />}
          <h2>{t('docksNow')}</h2>
          {now.length === 0 ? <Empty text={t('docksNone')} /> : <div class="dock-grid">{now.map((d) => <DockCard key={d.sessionId} dock={d} />)}</div>}
          <h2>{t('docksRecent')}</h2>
          {recent.length === 0 ? (
            <Empty />
          ) : (
            <table class="data">
              <thead>
                <tr>
                  <th>{t('workstation')}</th>
                  <th>{t('recorder')}</th>
                  <th>{t('started')}</th>
                  <th>{t('finished')}</th>
                  <th>{t('files')}</th>
                  <th>{t('result')}</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((d) => (
                  <tr key={d.sessionId}>
                    <td>{d.workstationId}</td>
                    <td>{d.recorderSerial}</td>
                    <td>{dateTime(d.startedAt)}</td>
                    <td>{dateTime(d.finishedAt ?? d.undockedAt)}</td>
                    <td>{d.files}</td>
                    <td>
                      <StageSummary dock={d} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Page>
  );
}

function StageSummary({ dock }: { dock: Dock }) {
  return (
    <span class="badges">
      {Object.entries(dock.stages).map(([stage, n]) => (
        <span key={stage} class={`badge stage-${stage}`}>
          {tx('stage', stage)} {n}
        </span>
      ))}
      {dock.gaps > 0 && <span class="badge warn">{t('gapsFound', { n: dock.gaps })}</span>}
    </span>
  );
}

function DockCard({ dock }: { dock: Dock }) {
  const pct = dock.bytes > 0 ? Math.min(100, Math.round((dock.bytesAcquired / dock.bytes) * 100)) : 100;
  return (
    <article class={`card dock ${dock.safeToUndock ? 'safe' : 'busy'}`} data-serial={dock.recorderSerial}>
      <header>
        <strong>{dock.recorderSerial}</strong>
        <span class="muted">
          {t('workstation')} {dock.workstationId} · {dateTime(dock.startedAt)}
        </span>
      </header>
      <p class={dock.safeToUndock ? 'undock safe' : 'undock busy'} role="status" aria-live="polite">
        {dock.safeToUndock ? t('safeToUndock') : t('notSafeToUndock')}
      </p>
      <div class="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={t('progress')}>
        <span style={{ width: `${pct}%` }} />
      </div>
      <p class="muted">
        {bytes(dock.bytesAcquired)} / {bytes(dock.bytes)} · {dock.files} {t('files')}
      </p>
      <StageSummary dock={dock} />
      {dock.fileList.length > 0 && (
        <ul class="files">
          {dock.fileList.map((f) => (
            <li key={f.name}>
              <span class="name">{f.name}</span>
              <span class="file-bar">
                <span style={{ width: `${f.size > 0 ? Math.round((f.bytesAcquired / f.size) * 100) : 100}%` }} />
              </span>
              <span class={`badge stage-${f.stage}`}>{f.duplicate ? tx('stage', 'duplicate') : tx('stage', f.stage)}</span>
              {f.error && <span class="error small">{f.error}</span>}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
