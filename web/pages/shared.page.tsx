import { useEffect } from 'preact/hooks';
import { ApiError, api, BASE, type SharedView } from '../api.client.ts';
import { bytes, dateTime, duration, timeZone } from '../format.ts';
import { locale, setLocale, t, tIn, type MessageKey } from '../i18n.ts';
import { ErrorLine, Loading, useLoad } from '../ui.tsx';

/**
 * What a share link's recipient sees (/share/<token>): no login and none of the archive's
 * navigation, only the shared copies, their hashes and the original's, and a download where
 * the share allows it. The token in the address is the credential; the server answers the
 * shell with 404 or 410 for a link that names nothing or no longer works, and the API says
 * the same, which this page shows in both languages (a recipient may read either).
 */
export function SharedPage({ token }: { token: string }) {
  const path = `/shared/${encodeURIComponent(token)}`;
  const loaded = useLoad(() => api.get<SharedView>(path), [token]);
  // Dates in the bureau's time zone, as on the archive's own pages (public, like this page).
  useEffect(() => {
    api.get<{ timeZone: string }>('/settings').then(
      (s) => (timeZone.value = s.timeZone),
      () => undefined,
    );
  }, []);
  useEffect(() => {
    document.title = `${t('sharedTitle')} · evidock`;
  }, [locale.value]);
  return (
    <div class="shell shared">
      <a class="skip" href="#main">
        {t('skipToContent')}
      </a>
      <header class="top">
        <span class="brand">{t('appName')}</span>
        <span class="spacer" />
        <button type="button" class="lang" aria-label={t('languageLabel')} onClick={() => setLocale(locale.value === 'en' ? 'zh-CN' : 'en')}>
          {t('language')}
        </button>
      </header>
      <main id="main">
        <section class="page">
          <header class="page-head">
            <h1 tabIndex={-1} id="page-title">
              {t('sharedTitle')}
            </h1>
          </header>
          {loaded.error ? (
            <Unavailable error={loaded.error} retry={loaded.reload} />
          ) : loaded.data === null ? (
            <Loading />
          ) : (
            <Shared view={loaded.data} base={`${BASE}${path}`} />
          )}
        </section>
      </main>
    </div>
  );
}

/** A link that does not (or no longer) open: one message, in both languages, and the server's reason. */
function Unavailable({ error, retry }: { error: unknown; retry: () => void }) {
  const status = error instanceof ApiError ? error.status : 0;
  if (status !== 404 && status !== 410) return <ErrorLine error={error} onRetry={retry} />;
  const key: MessageKey = status === 410 ? 'sharedGone' : 'sharedNotFound';
  const other = locale.value === 'en' ? 'zh-CN' : 'en';
  return (
    <section class="card share-unavailable" role="alert" data-testid="share-unavailable" data-status={status}>
      <p class="lead" lang={locale.value}>
        {t(key)}
      </p>
      <p class="lead" lang={other}>
        {tIn(other, key)}
      </p>
      {/* 410 says which: revoked, or expired and when. */}
      {status === 410 && error instanceof ApiError && <p class="muted">{locale.value === 'en' ? error.message : error.messageZh}</p>}
    </section>
  );
}

function Shared({ view, base }: { view: SharedView; base: string }) {
  return (
    <>
      <section class="card" aria-label={t('sharedTitle')}>
        <dl class="fields share-facts">
          <dt>{t('sharedFor')}</dt>
          <dd data-testid="shared-recipient">{view.recipient}</dd>
          <dt>{t('sharedCase')}</dt>
          <dd data-testid="shared-case">{view.caseNumber ?? '—'}</dd>
          <dt>{t('sharedMode')}</dt>
          <dd data-testid="shared-mode">{t(view.mode === 'download' ? 'shareMode_download' : 'shareMode_view')}</dd>
          <dt>{t('sharedExpires')}</dt>
          <dd data-testid="shared-expires">{dateTime(view.expiresAt)}</dd>
        </dl>
        <p class="notice">{t('sharedNotice')}</p>
      </section>
      {view.items.length === 0 ? (
        <p class="empty">{t('sharedNoItems')}</p>
      ) : (
        view.items.map((item) => <SharedItem key={item.evidenceId} item={item} base={`${base}/items/${encodeURIComponent(item.evidenceId)}`} download={view.mode === 'download'} />)
      )}
    </>
  );
}

function SharedItem({ item, base, download }: { item: SharedView['items'][number]; base: string; download: boolean }) {
  const src = `${base}/play`;
  return (
    <article class="card shared-item" data-evidence={item.evidenceId}>
      {item.contentType.startsWith('video/') ? (
        <video class="shared-media" src={src} controls preload="metadata" playsInline controlsList="nodownload" aria-label={item.evidenceId} />
      ) : item.contentType.startsWith('audio/') ? (
        <audio src={src} controls preload="metadata" aria-label={item.evidenceId} />
      ) : item.contentType.startsWith('image/') ? (
        <img class="photo" src={src} alt={item.evidenceId} />
      ) : null}
      <dl class="fields">
        <dt>{t('sharedCaptured')}</dt>
        <dd>{dateTime(item.captureStart)}</dd>
        <dt>{t('duration')}</dt>
        <dd>{duration(item.durationSeconds)}</dd>
        <dt>{t('colSize')}</dt>
        <dd>{bytes(item.size)}</dd>
        <dt>{t('sharedCopySha')}</dt>
        <dd class="hash" data-testid="copy-sha256">
          {item.sha256}
        </dd>
        <dt>{t('sharedOriginalSha')}</dt>
        <dd class="hash" data-testid="original-sha256">
          {item.originalSha256}
        </dd>
      </dl>
      {item.watermarked && <p class="muted small">{t('sharedWatermarked')}</p>}
      {/* Only a download share offers the file (the server refuses it on a view share anyway). */}
      {download && (
        <a class="button" href={`${base}/download`} download>
          {t('sharedDownload')}
        </a>
      )}
    </article>
  );
}
