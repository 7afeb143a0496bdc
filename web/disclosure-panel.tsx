import { useState } from 'preact/hooks';
import { api, type AccessRequest } from './api.client.ts';
import { bytes, dateTime } from './format.ts';
import { t } from './i18n.ts';
import { A, Empty, errorLine, Show, useLoad } from './ui.tsx';

interface Preview {
  caseNumber: string;
  items: Array<{ evidenceId: string; mediaType: string; captureStart: string | null; copy: 'redacted' | 'proxy' | 'none'; sourceKind: string | null }>;
  redacted: number;
  unredacted: number;
  withheld: number;
}

interface Disclosure {
  disclosureId: string;
  at: string;
  by: string;
  approvalId: string | null;
  manifestSha256: string | null;
  files: Array<{ evidenceId: string; file: string; sha256: string; eventSeq: number; eventHash: string }>;
}

/** Names typed one a line (or split by commas, 、): what DiscloseBody takes (2 to 64 characters each). */
export function nameList(text: string): string[] {
  return [...new Set(text.split(/[\n,，、;；]+/).map((n) => n.trim()).filter((n) => n.length >= 2 && n.length <= 64))];
}

/** An approved export request of the caller's that covers the whole case now (as approvalCovering in archive/access.service.ts decides). */
export function usableApproval(r: AccessRequest, caseNumber: string, itemIds: readonly string[], now: number): boolean {
  const covers = r.caseNumber === caseNumber || (r.evidenceId !== null && itemIds.length === 1 && itemIds[0] === r.evidenceId);
  return r.state === 'approved' && r.actions.includes('export') && r.expiresAt !== null && new Date(r.expiresAt).getTime() > now && covers;
}

/**
 * 公示脱敏副本 for custodians (the server allows only them, `share` in archive/access-policy.ts):
 * choose the approved export request the copy is made under (or ask for one), names to mask
 * or keep, see which records would go out unredacted or be left out, then download the zip
 * the API makes. Below: the copies made of the case, from its DISCLOSED custody events.
 */
export function DisclosurePanel({ caseNumber, items }: { caseNumber: string; items: ReadonlyArray<{ evidenceId: string; originalName: string }> }) {
  const base = `/cases/${encodeURIComponent(caseNumber)}`;
  const requests = useLoad(() => api.get<{ mine: AccessRequest[] }>('/access-requests'), [caseNumber]);
  const preview = useLoad(() => api.get<Preview>(`${base}/disclosure/preview`), [caseNumber]);
  const history = useLoad(() => api.get<{ disclosures: Disclosure[] }>(`${base}/disclosures`), [caseNumber]);
  const [approvalId, setApprovalId] = useState('');
  const [names, setNames] = useState('');
  const [keep, setKeep] = useState('');
  const [purpose, setPurpose] = useState('');
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const nameOf = new Map(items.map((i) => [i.evidenceId, i.originalName]));
  const ids = items.map((i) => i.evidenceId);

  const run = async (work: () => Promise<string>, busyText: string | null) => {
    setState({ busy: true, text: busyText, ok: true });
    try {
      setState({ busy: false, text: await work(), ok: true });
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };
  const ask = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await api.post('/access-requests', { caseNumber, actions: ['export'], purpose: purpose.trim() });
      setPurpose('');
      requests.reload();
      return t('discloseRequested');
    }, null);
  };
  const make = (chosen: string) => (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const file = await api.postForFile(`${base}/disclosure`, { approvalId: chosen, names: nameList(names), keep: nameList(keep) });
      history.reload();
      return t('discloseMade', { name: file.name, size: bytes(file.size) });
    }, t('discloseMaking'));
  };

  return (
    <section class="card disclosure-panel" aria-label={t('disclosePanel')}>
      <h2>{t('disclosePanel')}</h2>
      <p class="muted small">{t('discloseHint')}</p>
      {/* What would go out, before the approval and the button: the reviewer reads it first. */}
      <h3>{t('discloseCheckTitle')}</h3>
      <Show loaded={preview}>{(p) => <PreviewFacts p={p} nameOf={nameOf} />}</Show>
      <Show loaded={requests}>
        {(r) => {
          const now = Date.now();
          const usable = r.mine.filter((q) => usableApproval(q, caseNumber, ids, now));
          const pending = r.mine.some((q) => q.state === 'pending' && q.caseNumber === caseNumber && q.actions.includes('export'));
          const chosen = usable.some((q) => q.id === approvalId) ? approvalId : (usable[0]?.id ?? '');
          if (usable.length === 0) {
            return (
              <div class="stack" data-testid="disclose-no-approval">
                <p>
                  {t('discloseNoApproval')} <A href="/approvals">{t('discloseApprovalsLink')}</A>
                </p>
                {pending ? (
                  <p class="muted">{t('discloseRequested')}</p>
                ) : (
                  <form class="row" onSubmit={ask}>
                    <label>
                      {t('discloseRequestPurpose')}
                      <input name="disclosePurpose" required minLength={4} maxLength={1000} value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
                    </label>
                    <button type="submit" disabled={state.busy || purpose.trim().length < 4}>
                      {t('discloseRequest')}
                    </button>
                  </form>
                )}
              </div>
            );
          }
          return (
            <form class="stack" onSubmit={make(chosen)}>
              <label>
                {t('discloseApproval')}
                <select name="discloseApproval" value={chosen} onChange={(e) => setApprovalId(e.currentTarget.value)}>
                  {usable.map((q) => (
                    <option key={q.id} value={q.id}>
                      {t('discloseApprovalOption', { purpose: q.purpose, by: q.decidedBy ?? '—', at: dateTime(q.expiresAt) })}
                    </option>
                  ))}
                </select>
              </label>
              <div class="row">
                <label>
                  {t('discloseNames')}
                  <textarea name="discloseNames" rows={2} value={names} onInput={(e) => setNames(e.currentTarget.value)} />
                </label>
                <label>
                  {t('discloseKeep')}
                  <textarea name="discloseKeep" rows={2} value={keep} onInput={(e) => setKeep(e.currentTarget.value)} />
                </label>
              </div>
              <div class="row">
                <button type="submit" class="primary" disabled={state.busy || preview.data === null || preview.data.items.length === preview.data.withheld}>
                  {t('discloseDownload')}
                </button>
              </div>
            </form>
          );
        }}
      </Show>
      {state.text && (
        <p class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </p>
      )}
      <h3>{t('discloseHistory')}</h3>
      <Show loaded={history}>
        {(h) =>
          h.disclosures.length === 0 ? (
            <Empty text={t('discloseNone')} />
          ) : (
            <ul class="share-list" data-testid="disclosures">
              {h.disclosures.map((d) => (
                <li key={d.disclosureId} data-disclosure={d.disclosureId}>
                  <strong>{t('discloseRecord', { at: dateTime(d.at), by: d.by, n: d.files.length })}</strong>
                  {d.approvalId && (
                    <span class="muted">
                      {' '}
                      · {t('discloseApprovalId')} {d.approvalId.slice(0, 8)}
                    </span>
                  )}
                  {d.manifestSha256 && (
                    <p class="small hash">
                      {t('discloseManifest')} {d.manifestSha256}
                    </p>
                  )}
                  <ul class="plain small hash">
                    {d.files.map((f) => (
                      <li key={f.eventSeq}>
                        {f.file} · {f.sha256}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  );
}

/** The same facts the CLI prints after a disclosure (disclose.unredacted, disclose.withheld), before one is made. */
function PreviewFacts({ p, nameOf }: { p: Preview; nameOf: Map<string, string> }) {
  const listOf = (copy: Preview['items'][number]['copy']) => (
    <ul class="plain">
      {p.items
        .filter((i) => i.copy === copy)
        .map((i) => (
          <li key={i.evidenceId} data-copy={i.copy}>
            <A href={`/evidence/${i.evidenceId}`}>{nameOf.get(i.evidenceId) ?? i.evidenceId.slice(0, 8)}</A> · {t(`discloseCopy_${i.copy}`)}
          </li>
        ))}
    </ul>
  );
  return (
    <div data-testid="disclose-preview">
      {p.unredacted === 0 && p.withheld === 0 && <p class="ok">{t('discloseAllRedacted', { n: p.redacted })}</p>}
      {p.unredacted > 0 && (
        <div class="notice" role="note" data-testid="disclose-unredacted">
          <p>{t('discloseUnredacted', { count: p.unredacted })}</p>
          {listOf('proxy')}
        </div>
      )}
      {p.withheld > 0 && (
        <div class="notice" role="note" data-testid="disclose-withheld">
          <p>{t('discloseWithheld', { count: p.withheld })}</p>
          {listOf('none')}
        </div>
      )}
    </div>
  );
}
