import { useEffect, useState } from 'preact/hooks';
import { BASE, type Dock } from '../api.client.ts';
import { bytes, dateTime } from '../format.ts';
import { t, tx } from '../i18n.ts';
import { Empty, Loading, Page } from '../ui.tsx';

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
