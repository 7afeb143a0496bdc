import { useState } from 'preact/hooks';
import { api, type AccessRequest } from '../api.client.ts';
import { dateTime, fromLocalInput, toLocalInput } from '../format.ts';
import { t, tx } from '../i18n.ts';
import { A, Empty, errorLine, Page, Show, useLoad } from '../ui.tsx';

export function ApprovalsPage() {
  const loaded = useLoad(() => api.get<{ mine: AccessRequest[]; waiting: AccessRequest[] }>('/access-requests'), []);
  return (
    <Page title={t('approvalsTitle')}>
      <Show loaded={loaded}>
        {(r) => (
          <>
            <h2>{t('pending')}</h2>
            {r.waiting.length === 0 ? <Empty text={t('noRequests')} /> : r.waiting.map((q) => <Decide key={q.id} request={q} onDone={loaded.reload} />)}
            <h2>{t('myRequests')}</h2>
            {r.mine.length === 0 ? <Empty text={t('noRequests')} /> : <RequestTable rows={r.mine} />}
          </>
        )}
      </Show>
    </Page>
  );
}

function Scope({ r }: { r: AccessRequest }) {
  return r.evidenceId ? <A href={`/evidence/${r.evidenceId}`}>{r.evidenceId.slice(0, 8)}</A> : <A href={`/cases/${encodeURIComponent(r.caseNumber ?? '')}`}>{r.caseNumber}</A>;
}

function RequestTable({ rows }: { rows: AccessRequest[] }) {
  return (
    <table class="data">
      <thead>
        <tr>
          <th>{t('colAt')}</th>
          <th>{t('scope')}</th>
          <th>{t('requestActions')}</th>
          <th>{t('purpose')}</th>
          <th>{t('result')}</th>
          <th>{t('expiresAt')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id} data-request={r.id}>
            <td>{dateTime(r.createdAt)}</td>
            <td>
              <Scope r={r} />
            </td>
            <td>{r.actions.map((a) => tx('action', a)).join('、')}</td>
            <td>{r.purpose}</td>
            <td class={`state-${r.state}`}>
              {tx('state', r.state)}
              {r.reason ? ` · ${r.reason}` : ''}
              {r.decidedBy ? ` · ${r.decidedBy}` : ''}
            </td>
            <td>{dateTime(r.expiresAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Decide({ request, onDone }: { request: AccessRequest; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState(() => toLocalInput(new Date(Date.now() + 7 * 86400_000).toISOString()));
  const [problem, setProblem] = useState<string | null>(null);
  const decide = async (approve: boolean) => {
    setProblem(null);
    try {
      const at = fromLocalInput(expires);
      await api.post(`/access-requests/${request.id}/decision`, { approve, reason, ...(approve && at ? { expiresAt: at } : {}) });
      onDone();
    } catch (error) {
      setProblem(errorLine(error));
    }
  };
  return (
    <article class="card request" data-request={request.id}>
      <p>
        <strong>{request.requester}</strong> · {dateTime(request.createdAt)} · {t('scope')} <Scope r={request} /> · {request.actions.map((a) => tx('action', a)).join('、')}
      </p>
      <p>
        {t('purpose')}：{request.purpose}
      </p>
      <div class="row">
        <label>
          {t('decisionReason')}
          <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} required minLength={2} />
        </label>
        <label>
          {t('expiresAt')}
          <input type="datetime-local" name="expiresAt" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <button type="button" class="primary" onClick={() => decide(true)}>
          {t('approve')}
        </button>
        <button type="button" onClick={() => decide(false)}>
          {t('refuse')}
        </button>
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </article>
  );
}
