import { useState } from 'preact/hooks';
import { api, me, type EvidenceItem } from '../api.client.ts';
import { bytes, dateTime } from '../format.ts';
import { t } from '../i18n.ts';
import { navigate } from '../router.ts';
import { DisclosurePanel } from '../disclosure-panel.tsx';
import { SharePanel } from '../share-panel.tsx';
import { A, Empty, errorLine, FlagBadges, Page, Show, useLoad } from '../ui.tsx';

interface Match {
  evidenceId: string;
  state: string;
  decidedBy: string | null;
  reason: string | null;
}
interface Action {
  id: string;
  officerIds: string[];
  startsAt: string;
  endsAt: string;
  subject: string | null;
  place: string | null;
  matches: Match[];
}
interface Doc {
  id: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  uploadedBy: string;
  createdAt: string;
  url: string;
}
interface CaseBody {
  caseNumber: string;
  state: 'open' | 'ended' | 'archived';
  endedAt: string | null;
  archivedAt: string | null;
  archiveBy: string | null;
  legalHold: boolean;
  major: boolean;
  items: EvidenceItem[];
  documents: Doc[];
  actions: Action[];
}

/** File name extensions the server accepts as case documents (archive/document-type.ts). */
const TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  ofd: 'application/ofd',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  txt: 'text/plain',
};

export function CasesPage() {
  const [n, setN] = useState('');
  return (
    <Page title={t('casesTitle')}>
      <form
        class="card narrow row"
        onSubmit={(e) => {
          e.preventDefault();
          if (n.trim()) navigate(`/cases/${encodeURIComponent(n.trim())}`);
        }}
      >
        <label>
          {t('filterCase')}
          <input name="caseNumber" value={n} onInput={(e) => setN(e.currentTarget.value)} required />
        </label>
        <button type="submit" class="primary">
          {t('openCase')}
        </button>
      </form>
    </Page>
  );
}

type Entry = { at: string; kind: 'item'; item: EvidenceItem } | { at: string; kind: 'doc'; doc: Doc } | { at: string; kind: 'action'; action: Action };

export function CasePage({ caseNumber }: { caseNumber: string }) {
  const loaded = useLoad(() => api.get<CaseBody>(`/cases/${encodeURIComponent(caseNumber)}`), [caseNumber]);
  return (
    <Page title={t('caseTitle', { n: caseNumber })}>
      <Show loaded={loaded}>{(c) => <CaseView c={c} reload={loaded.reload} />}</Show>
    </Page>
  );
}

function CaseView({ c, reload }: { c: CaseBody; reload: () => void }) {
  const entries: Entry[] = [
    ...c.items.map((item): Entry => ({ at: item.capturedAt ?? item.recordedAt, kind: 'item', item })),
    ...c.documents.map((doc): Entry => ({ at: doc.createdAt, kind: 'doc', doc })),
    ...c.actions.map((action): Entry => ({ at: action.startsAt, kind: 'action', action })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return (
    <>
      <div class="case-tools">
        <Upload caseNumber={c.caseNumber} onDone={reload} />
        {EXPORTERS.has(me.value?.role ?? '') && <ExportPackage caseNumber={c.caseNumber} />}
        <Preservation c={c} onDone={reload} />
      </div>
      {/* Sharing is a custodian's (the server refuses others); only items with a proxy can go. */}
      {me.value?.role === 'custodian' && c.items.length > 0 && <SharePanel of={{ caseNumber: c.caseNumber }} />}
      {/* Disclosure copies for publication: a custodian's too (the server refuses others). */}
      {me.value?.role === 'custodian' && c.items.length > 0 && <DisclosurePanel caseNumber={c.caseNumber} items={c.items} />}
      <h2>{t('caseTimeline')}</h2>
      {entries.length === 0 ? (
        <Empty text={t('noCaseContent')} />
      ) : (
        <ol class="case-timeline">
          {entries.map((e) => (
            <li key={e.kind + (e.kind === 'item' ? e.item.evidenceId : e.kind === 'doc' ? e.doc.id : e.action.id)} class={`entry ${e.kind}`}>
              <span class="when">{dateTime(e.at)}</span>
              {e.kind === 'item' && (
                <span>
                  <span class="kind">{t('caseItems')}</span> <A href={`/evidence/${e.item.evidenceId}`}>{e.item.originalName}</A> · {e.item.collector.name ?? e.item.collector.officerId ?? '—'} · {e.item.place ?? '—'}{' '}
                  <FlagBadges flags={e.item.flags} />
                </span>
              )}
              {e.kind === 'doc' && (
                <span>
                  <span class="kind">{t('caseDocuments')}</span>{' '}
                  <a href={e.doc.url} download={e.doc.name}>
                    {e.doc.name}
                  </a>{' '}
                  · {bytes(e.doc.size)} · {e.doc.uploadedBy}
                </span>
              )}
              {e.kind === 'action' && <ActionEntry caseNumber={c.caseNumber} action={e.action} onDone={reload} />}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

function ActionEntry({ caseNumber, action, onDone }: { caseNumber: string; action: Action; onDone: () => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const decide = async (m: Match, confirm: boolean) => {
    setProblem(null);
    try {
      await api.post(`/cases/${encodeURIComponent(caseNumber)}/actions/${action.id}/matches/${m.evidenceId}`, { confirm, ...(confirm ? {} : { reason: 'not this action' }) });
      onDone();
    } catch (error) {
      setProblem(errorLine(error));
    }
  };
  return (
    <span>
      <span class="kind">{t('caseActions')}</span> {dateTime(action.startsAt)} – {dateTime(action.endsAt)} · {action.officerIds.join(', ')} · {action.place ?? ''} {action.subject ?? ''}
      <ul class="plain">
        {action.matches.map((m) => (
          <li key={m.evidenceId}>
            <A href={`/evidence/${m.evidenceId}`}>{m.evidenceId.slice(0, 8)}</A> · {m.state === 'suggested' ? t('suggested') : m.state === 'confirmed' ? t('confirmed') : t('rejected')}
            {m.state === 'suggested' && (
              <>
                {' '}
                <button type="button" class="small" onClick={() => decide(m, true)}>
                  {t('confirm')}
                </button>{' '}
                <button type="button" class="small" onClick={() => decide(m, false)}>
                  {t('reject')}
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {problem && <span class="error">{problem}</span>}
    </span>
  );
}

/**
 * The case's life and keeping (归档与保管): its state and the 30-day deadline for everyone who
 * sees the case; ending, archiving and holds for custodians (the server decides the units).
 */
function Preservation({ c, onDone }: { c: CaseBody; onDone: () => void }) {
  const custodian = me.value?.role === 'custodian';
  const [endedOn, setEndedOn] = useState('');
  const [reason, setReason] = useState('');
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const base = `/cases/${encodeURIComponent(c.caseNumber)}`;
  const act = async (path: string, body: unknown, done: string) => {
    setState({ busy: true, text: null, ok: true });
    try {
      await api.post(`${base}/${path}`, body);
      setState({ busy: false, text: done, ok: true });
      onDone();
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };
  const overdue = c.archiveBy !== null && new Date(c.archiveBy).getTime() < Date.now();
  return (
    <section class="card preservation" aria-label={t('casePreservation')}>
      <h2>{t('casePreservation')}</h2>
      <p>
        <strong data-testid="case-state">{t(`caseState_${c.state}`)}</strong>
        {c.major && <span class="badge">{t('caseMajor')}</span>}
        {c.legalHold && <span class="badge warn">{t('caseHeld')}</span>}
      </p>
      {c.endedAt && <p>{t('caseEndedAt', { at: dateTime(c.endedAt) })}</p>}
      {c.archiveBy && <p class={overdue ? 'error' : ''}>{t(overdue ? 'caseArchiveOverdue' : 'caseArchiveBy', { at: dateTime(c.archiveBy) })}</p>}
      {c.archivedAt && <p>{t('caseArchivedAt', { at: dateTime(c.archivedAt) })}</p>}
      {custodian && c.state === 'open' && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void act('end', { endedAt: new Date(`${endedOn}T23:59:59`).toISOString() }, t('caseEndDone'));
          }}
        >
          <label>
            {t('caseEndDate')}
            <input type="date" name="endedOn" required value={endedOn} max={new Date().toISOString().slice(0, 10)} onInput={(e) => setEndedOn(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={state.busy}>
            {t('caseEnd')}
          </button>
        </form>
      )}
      {custodian && (
        <div class="row">
          <label>
            {t('preserveReason')}
            <input name="preserveReason" minLength={2} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          {c.state === 'ended' && (
            <button type="button" class="primary" disabled={state.busy || reason.trim().length < 2} onClick={() => void act('archive', { reason }, t('caseArchiveDone'))}>
              {t('caseArchive')}
            </button>
          )}
          <button type="button" disabled={state.busy || reason.trim().length < 2} onClick={() => void act('hold', { on: !c.legalHold, reason }, c.legalHold ? t('caseReleaseDone') : t('caseHoldDone'))}>
            {c.legalHold ? t('caseRelease') : t('caseHold')}
          </button>
        </div>
      )}
      {state.text && (
        <p class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </p>
      )}
    </section>
  );
}

/** Roles that may copy a case's evidence (custodians at once; supervisors and auditors with an approval). */
const EXPORTERS = new Set(['custodian', 'supervisor', 'auditor']);

function ExportPackage({ caseNumber }: { caseNumber: string }) {
  const [reason, setReason] = useState('');
  const [withProxies, setWithProxies] = useState(false);
  const [recipient, setRecipient] = useState('');
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const submit = async (e: Event) => {
    e.preventDefault();
    setState({ busy: true, text: t('exporting'), ok: true });
    try {
      const file = await api.postForFile(`/cases/${encodeURIComponent(caseNumber)}/export`, { reason, withProxies, ...(recipient.trim() ? { watermark: recipient.trim() } : {}) });
      setState({ busy: false, text: t('exported', { name: file.name, size: bytes(file.size) }), ok: true });
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };
  return (
    <form class="card export" onSubmit={submit} aria-label={t('exportPackage')}>
      <h2>{t('exportPackage')}</h2>
      <label>
        {t('exportReason')}
        <input name="reason" required minLength={2} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" name="withProxies" checked={withProxies} onChange={(e) => setWithProxies(e.currentTarget.checked)} />
        {t('exportWithProxies')}
      </label>
      <label>
        {t('exportWatermark')}
        <input name="watermark" maxLength={100} value={recipient} onInput={(e) => setRecipient(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled={state.busy}>
        {t('exportButton')}
      </button>
      {state.text && (
        <p class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </p>
      )}
      <p class="muted small">{t('exportHint')}</p>
    </form>
  );
}

function Upload({ caseNumber, onDone }: { caseNumber: string; onDone: () => void }) {
  const [state, setState] = useState<{ busy: boolean; text: string | null; ok: boolean }>({ busy: false, text: null, ok: true });
  const [over, setOver] = useState(false);
  const send = async (file: File) => {
    const ext = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? '';
    const type = TYPES[ext] ?? (file.type || 'application/octet-stream');
    setState({ busy: true, text: t('uploading'), ok: true });
    try {
      await api.upload(`/cases/${encodeURIComponent(caseNumber)}/documents`, file, type, { name: file.name });
      setState({ busy: false, text: t('uploaded', { name: file.name }), ok: true });
      onDone();
    } catch (error) {
      setState({ busy: false, text: errorLine(error), ok: false });
    }
  };
  return (
    <label
      class={over ? 'dropzone over' : 'dropzone'}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer?.files[0];
        if (f) void send(f);
      }}
    >
      <input type="file" name="document" class="visually-hidden" onChange={(e) => e.currentTarget.files?.[0] && void send(e.currentTarget.files[0])} disabled={state.busy} />
      <span>{t('uploadDocument')}</span>
      {state.text && (
        <span class={state.ok ? 'ok' : 'error'} role="status">
          {state.text}
        </span>
      )}
      <span class="muted small">{Object.keys(TYPES).join(' · ')}</span>
    </label>
  );
}
