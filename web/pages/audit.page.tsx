import { useState } from 'preact/hooks';
import { api, me, type CustodyEvent } from '../api.client.ts';
import { csv, dateTime, download, fromLocalInput, toLocalInput } from '../format.ts';
import { t, tx } from '../i18n.ts';
import { A, Empty, Page, Show, Tabs, useLoad } from '../ui.tsx';

interface AccessRecord {
  id: number;
  at: string;
  principal: string;
  role: string;
  action: string;
  evidenceId: string | null;
  evidenceIds: string[] | null;
  caseNumber: string | null;
  purpose: string | null;
  approvalId: string | null;
  ip: string | null;
  sealedSeq: number | null;
}

export function AuditPage() {
  const [tab, setTab] = useState<'access' | 'ledger'>('access');
  const ledger = me.value?.role === 'auditor';
  return (
    <Page title={t('auditTitle')}>
      {ledger && (
        <Tabs
          tabs={[
            ['access', t('accessLog')],
            ['ledger', t('ledger')],
          ]}
          value={tab}
          onChange={setTab}
        />
      )}
      {tab === 'access' || !ledger ? <AccessLog /> : <Ledger />}
    </Page>
  );
}

function AccessLog() {
  const [filter, setFilter] = useState({ user: '', evidenceId: '', action: '', from: '', to: '' });
  const [applied, setApplied] = useState(filter);
  const loaded = useLoad(() => api.get<AccessRecord[] | { records: AccessRecord[] }>('/access-log', { ...applied, limit: 500 }).then((r) => (Array.isArray(r) ? r : r.records)), [JSON.stringify(applied)]);
  const set = (k: keyof typeof filter, v: string) => setFilter((f) => ({ ...f, [k]: v }));
  const exportCsv = (rows: AccessRecord[]) =>
    download(
      `access-log-${new Date().toISOString().slice(0, 10)}.csv`,
      csv([
        ['id', 'at', 'principal', 'role', 'action', 'evidenceId', 'caseNumber', 'purpose', 'approvalId', 'ip', 'sealedSeq'],
        ...rows.map((r) => [r.id, r.at, r.principal, r.role, r.action, r.evidenceId ?? (r.evidenceIds ?? []).join(' '), r.caseNumber, r.purpose, r.approvalId, r.ip, r.sealedSeq]),
      ]),
    );
  return (
    <>
      <form
        class="filters inline card"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filter);
        }}
      >
        <label>
          {t('colWho')}
          <input name="user" value={filter.user} onInput={(e) => set('user', e.currentTarget.value)} />
        </label>
        <label>
          {t('colEvidence')}
          <input name="evidenceId" value={filter.evidenceId} onInput={(e) => set('evidenceId', e.currentTarget.value)} />
        </label>
        <label>
          {t('colAction')}
          <input name="action" value={filter.action} onInput={(e) => set('action', e.currentTarget.value)} />
        </label>
        <label>
          {t('filterFrom')}
          <input type="datetime-local" value={toLocalInput(filter.from || null)} onInput={(e) => set('from', fromLocalInput(e.currentTarget.value) ?? '')} />
        </label>
        <label>
          {t('filterTo')}
          <input type="datetime-local" value={toLocalInput(filter.to || null)} onInput={(e) => set('to', fromLocalInput(e.currentTarget.value) ?? '')} />
        </label>
        <button type="submit" class="primary">
          {t('searchButton')}
        </button>
      </form>
      <Show loaded={loaded}>
        {(rows) =>
          rows.length === 0 ? (
            <Empty />
          ) : (
            <>
              <button type="button" onClick={() => exportCsv(rows)}>
                {t('csv')}
              </button>
              <table class="data">
                <thead>
                  <tr>
                    <th>{t('colAt')}</th>
                    <th>{t('colWho')}</th>
                    <th>{t('colAction')}</th>
                    <th>{t('colEvidence')}</th>
                    <th>{t('colPurpose')}</th>
                    <th>{t('colIp')}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.id}>
                      <td>{dateTime(r.at)}</td>
                      <td>
                        {r.principal} <span class="muted">{tx('role', r.role)}</span>
                      </td>
                      <td>{tx('action', r.action)}</td>
                      <td>{r.evidenceId ? <A href={`/evidence/${r.evidenceId}`}>{r.evidenceId.slice(0, 8)}</A> : r.evidenceIds ? `${r.evidenceIds.length} ×` : r.caseNumber ?? '—'}</td>
                      <td>{r.purpose ?? '—'}</td>
                      <td>{r.ip ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </Show>
    </>
  );
}

function Ledger() {
  const [after, setAfter] = useState(0);
  const loaded = useLoad(() => api.get<{ events: CustodyEvent[]; next: number | null }>('/ledger', { after, limit: 200 }), [after]);
  return (
    <Show loaded={loaded}>
      {(page) =>
        page.events.length === 0 ? (
          <Empty />
        ) : (
          <>
            <div class="row">
              <button type="button" onClick={() => download(`ledger-from-${after}.csv`, csv([['seq', 'at', 'type', 'workstation', 'actor', 'evidenceId', 'hash', 'keyId'], ...page.events.map((e) => [e.seq, e.at, e.type, e.workstationId, e.actor.id, e.evidenceId, e.hash, e.keyId])]))}>
                {t('csv')}
              </button>
              {after > 0 && (
                <button type="button" onClick={() => setAfter(Math.max(0, after - 200))}>
                  ←
                </button>
              )}
              {page.next !== null && (
                <button type="button" onClick={() => setAfter(page.next!)}>
                  {t('more')} →
                </button>
              )}
            </div>
            <table class="data">
              <thead>
                <tr>
                  <th>{t('colSeq')}</th>
                  <th>{t('colAt')}</th>
                  <th>{t('colType2')}</th>
                  <th>{t('colWho')}</th>
                  <th>{t('colEvidence')}</th>
                  <th>{t('signedBy')}</th>
                </tr>
              </thead>
              <tbody>
                {page.events.map((e) => (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>{dateTime(e.at)}</td>
                    <td>
                      {tx('event', e.type)} <code>{e.type}</code>
                    </td>
                    <td>{e.actor.id}</td>
                    <td>{e.evidenceId ? <A href={`/evidence/${e.evidenceId}`}>{e.evidenceId.slice(0, 8)}</A> : '—'}</td>
                    <td>{e.workstationId}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )
      }
    </Show>
  );
}
