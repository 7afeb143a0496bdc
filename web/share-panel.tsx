import { useState } from 'preact/hooks';
import { api, BASE, type Share } from './api.client.ts';
import { dateTime } from './format.ts';
import { t } from './i18n.ts';
import { Empty, errorLine, Show, useLoad } from './ui.tsx';

/**
 * 受控共享 for custodians (the server allows only them, `share` in archive/access-policy.ts):
 * a share link of a case or of one item for a named recipient, and the shares made of it,
 * each with its state, a revocation with a reason and its receipt. The token is answered
 * once, when the share is made (only its SHA-256 is stored), so the panel shows it then and
 * never again.
 */
export function SharePanel({ of }: { of: { caseNumber: string } | { evidenceId: string } }) {
  const query = 'caseNumber' in of ? { case: of.caseNumber } : { evidenceId: of.evidenceId };
  const shares = useLoad(() => api.get<{ shares: Share[] }>('/shares', query), [JSON.stringify(query)]);
  const [recipient, setRecipient] = useState('');
  const [mode, setMode] = useState<'view' | 'download'>('view');
  const [expiresOn, setExpiresOn] = useState('');
  const [approvalId, setApprovalId] = useState('');
  const [watermark, setWatermark] = useState(true);
  const [purpose, setPurpose] = useState('');
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const [made, setMade] = useState<{ link: string; token: string } | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setMade(null);
    setState({ busy: true, text: t('shareCreating'), ok: true });
    try {
      const r = await api.post<{ share: Share; token: string; link: string }>('/shares', {
        ...('caseNumber' in of ? { caseNumber: of.caseNumber } : { evidenceIds: [of.evidenceId] }),
        recipient: recipient.trim(),
        mode,
        // The end of the chosen day where the browser is (the server caps it at sharing.maxDays).
        ...(expiresOn ? { expiresAt: new Date(`${expiresOn}T23:59:59`).toISOString() } : {}),
        watermark,
        ...(approvalId.trim() ? { approvalId: approvalId.trim() } : {}),
        ...(purpose.trim() ? { purpose: purpose.trim() } : {}),
      });
      // Without sharing.baseUrl the server answers a path: this origin is where it opens.
      setMade({ link: r.link.startsWith('/') ? `${location.origin}${r.link}` : r.link, token: r.token });
      setState({ busy: false, text: null, ok: true });
      setRecipient('');
      setPurpose('');
      shares.reload();
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };

  return (
    <section class="card share-panel" aria-label={t('sharePanel')}>
      <h2>{t('sharePanel')}</h2>
      <p class="muted small">{t('shareHint')}</p>
      <form class="stack" onSubmit={submit}>
        <div class="row">
          <label>
            {t('shareRecipient')}
            <input name="recipient" required minLength={1} maxLength={100} value={recipient} onInput={(e) => setRecipient(e.currentTarget.value)} />
          </label>
          <label>
            {t('shareMode')}
            <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value === 'download' ? 'download' : 'view')}>
              <option value="view">{t('shareMode_view')}</option>
              <option value="download">{t('shareMode_download')}</option>
            </select>
          </label>
          <label>
            {t('shareExpiry')}
            <input type="date" name="expiresOn" value={expiresOn} min={new Date().toISOString().slice(0, 10)} onInput={(e) => setExpiresOn(e.currentTarget.value)} />
          </label>
        </div>
        <div class="row">
          <label>
            {t('shareApproval')}
            <input name="approvalId" maxLength={36} value={approvalId} onInput={(e) => setApprovalId(e.currentTarget.value)} />
          </label>
          <label>
            {t('sharePurpose')}
            <input name="purpose" maxLength={500} value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
          </label>
          <label class="check">
            <input type="checkbox" name="watermark" checked={watermark} onChange={(e) => setWatermark(e.currentTarget.checked)} />
            {t('shareWatermark')}
          </label>
        </div>
        <div class="row">
          <button type="submit" class="primary" disabled={state.busy || recipient.trim() === ''}>
            {t('shareCreate')}
          </button>
        </div>
      </form>
      {state.text && (
        <p class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </p>
      )}
      {made && (
        <div class="card inset share-once" role="status" data-testid="share-created">
          <p>{t('shareCreatedOnce')}</p>
          <label>
            {t('shareLink')}
            <input name="shareLink" readOnly value={made.link} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <label>
            {t('shareToken')}
            <input name="shareToken" readOnly value={made.token} onFocus={(e) => e.currentTarget.select()} />
          </label>
        </div>
      )}
      <h3>{t('shareListTitle')}</h3>
      <Show loaded={shares}>
        {(r) =>
          r.shares.length === 0 ? (
            <Empty text={t('noShares')} />
          ) : (
            <ul class="share-list">
              {r.shares.map((s) => (
                <ShareRow key={s.shareId} share={s} onChanged={shares.reload} />
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  );
}

function ShareRow({ share: s, onChanged }: { share: Share; onChanged: () => void }) {
  const [revoking, setRevoking] = useState(false);
  const [reason, setReason] = useState('');
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const revoke = async (e: Event) => {
    e.preventDefault();
    setState({ busy: true, text: null, ok: true });
    try {
      await api.post(`/shares/${s.shareId}/revoke`, { reason: reason.trim() });
      setState({ busy: false, text: t('shareRevokedDone'), ok: true });
      setRevoking(false);
      onChanged();
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };
  const receipt = `${BASE}/shares/${s.shareId}/receipt`;
  return (
    <li data-share={s.shareId} data-state={s.state}>
      <span class={`badge share-${s.state}`} data-testid="share-state">
        {t(`shareState_${s.state}`)}
      </span>{' '}
      <strong>{s.recipient}</strong> · {t(s.mode === 'download' ? 'shareMode_download' : 'shareMode_view')} · {t('shareItems', { n: s.items.length })} · {t('expiresAt')} {dateTime(s.expiresAt)}
      <span class="muted">
        {' '}
        · {t('by')} {s.createdBy} · {dateTime(s.createdAt)}
        {s.purpose ? ` · ${s.purpose}` : ''}
      </span>
      {s.revokedAt && <p class="muted small">{t('shareRevokedBy', { by: s.revokedBy ?? '—', at: dateTime(s.revokedAt), reason: s.revokeReason ?? '' })}</p>}
      <div class="row">
        <a href={`${receipt}?format=pdf`} download>
          {t('shareReceiptPdf')}
        </a>
        <a href={`${receipt}?format=html`} target="_blank" rel="noopener">
          {t('shareReceiptHtml')}
        </a>
        {s.state === 'active' && !revoking && (
          <button type="button" class="small" onClick={() => setRevoking(true)}>
            {t('shareRevoke')}
          </button>
        )}
      </div>
      {revoking && (
        <form class="row" onSubmit={revoke}>
          <label>
            {t('shareRevokeReason')}
            <input name="revokeReason" required minLength={2} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary" disabled={state.busy || reason.trim().length < 2}>
            {t('shareRevokeConfirm')}
          </button>
          <button type="button" onClick={() => setRevoking(false)}>
            {t('cancel')}
          </button>
        </form>
      )}
      {state.text && (
        <p class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </p>
      )}
    </li>
  );
}
