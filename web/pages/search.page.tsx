import { useEffect, useState } from 'preact/hooks';
import { api, me, type EvidenceItem } from '../api.client.ts';
import { bytes, dateTime, duration, fromLocalInput, toLocalInput } from '../format.ts';
import { t, tx, type MessageKey } from '../i18n.ts';
import { navigate, route } from '../router.ts';
import { A, Empty, ErrorLine, FlagBadges, Loading, Page, Tabs } from '../ui.tsx';

const TEXT_FILTERS: Array<[string, MessageKey]> = [
  ['case', 'filterCase'],
  ['officer', 'filterOfficer'],
  ['serial', 'filterSerial'],
  ['unit', 'filterUnit'],
  ['subject', 'filterSubject'],
  ['place', 'filterPlace'],
];
const FILTER_KEYS = [...TEXT_FILTERS.map(([k]) => k), 'from', 'to', 'mediaType', 'flag', 'late'];
const FLAGS = ['missing-case', 'missing-subject', 'missing-place', 'missing-collector', 'unregistered', 'transfer-late', 'clock-suspect', 'clock-offset', 'tag-conflict', 'empty-file', 'purged'];

interface Worklist {
  name: string;
  query: string;
}

const worklistStore = () => `evidock.worklists.${me.value?.name ?? ''}`;
function loadWorklists(): Worklist[] {
  try {
    const saved = JSON.parse(localStorage.getItem(worklistStore()) ?? 'null') as Worklist[] | null;
    return saved ?? [{ name: t('worklistMissingCase'), query: 'flag=missing-case' }];
  } catch {
    return [];
  }
}
function saveWorklists(lists: Worklist[]): void {
  try {
    localStorage.setItem(worklistStore(), JSON.stringify(lists));
  } catch {
    // Without storage the worklist lasts for this page only.
  }
}

export function SearchPage() {
  const query = route.value.query;
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, query.get(k) ?? ''])) as Record<string, string>;
  const [draft, setDraft] = useState(filters);
  // The rows remember the query they answer: in the render between a new URL and the effect
  // that fetches it, the old rows must not show (or be labelled) as the new query's.
  const [shown, setShown] = useState<{ key: string; items: EvidenceItem[] } | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [view, setView] = useState<'table' | 'grid'>(() => (localStorage.getItem('evidock.searchView') === 'grid' ? 'grid' : 'table'));
  const [worklists, setWorklists] = useState<Worklist[]>(loadWorklists);
  const key = query.toString();
  const items = shown?.key === key ? shown.items : null;

  const fetchPage = (cursor: string | null) =>
    api.get<{ items: EvidenceItem[]; next: string | null }>('/evidence', { ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)), limit: 50, ...(cursor ? { cursor } : {}) });

  useEffect(() => {
    setDraft(filters);
    setShown(null);
    setNext(null);
    setError(null);
    let stale = false;
    fetchPage(null).then(
      (p) => {
        if (stale) return;
        setShown({ key, items: p.items });
        setNext(p.next);
      },
      (e: unknown) => !stale && setError(e),
    );
    return () => {
      stale = true;
    };
  }, [key]);

  const more = async () => {
    if (!next || loadingMore) return;
    setLoadingMore(true);
    try {
      const p = await fetchPage(next);
      setShown((old) => ({ key, items: [...(old?.key === key ? old.items : []), ...p.items] }));
      setNext(p.next);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  // Infinite scrolling: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const sentinel = document.getElementById('search-end');
    if (!sentinel || !next) return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void more(), { rootMargin: '200px' });
    io.observe(sentinel);
    return () => io.disconnect();
  }, [next, items?.length]);

  const submit = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v) q.set(k, v);
    navigate(`/search${q.size ? `?${q}` : ''}`);
  };
  const setField = (k: string, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const chooseView = (v: 'table' | 'grid') => {
    setView(v);
    localStorage.setItem('evidock.searchView', v);
  };
  const addWorklist = () => {
    const name = prompt(t('worklistName'));
    if (!name) return;
    const lists = [...worklists.filter((w) => w.name !== name), { name, query: key }];
    setWorklists(lists);
    saveWorklists(lists);
  };
  const removeWorklist = (name: string) => {
    const lists = worklists.filter((w) => w.name !== name);
    setWorklists(lists);
    saveWorklists(lists);
  };

  return (
    <Page title={t('searchTitle')}>
      <div class="search-layout">
        <form class="filters card" onSubmit={submit} aria-label={t('searchTitle')}>
          {TEXT_FILTERS.map(([k, label]) => (
            <label key={k}>
              {t(label)}
              <input name={k} value={draft[k]} onInput={(e) => setField(k, e.currentTarget.value)} />
            </label>
          ))}
          <label>
            {t('filterFrom')}
            <input type="datetime-local" name="from" value={toLocalInput(draft.from || null)} onInput={(e) => setField('from', fromLocalInput(e.currentTarget.value) ?? '')} />
          </label>
          <label>
            {t('filterTo')}
            <input type="datetime-local" name="to" value={toLocalInput(draft.to || null)} onInput={(e) => setField('to', fromLocalInput(e.currentTarget.value) ?? '')} />
          </label>
          <label>
            {t('filterMediaType')}
            <select name="mediaType" value={draft.mediaType} onChange={(e) => setField('mediaType', e.currentTarget.value)}>
              <option value="">{t('any')}</option>
              {['video', 'audio', 'photo', 'other'].map((m) => (
                <option key={m} value={m}>
                  {tx('media', m)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('filterFlag')}
            <select name="flag" value={draft.flag} onChange={(e) => setField('flag', e.currentTarget.value)}>
              <option value="">{t('any')}</option>
              {FLAGS.map((f) => (
                <option key={f} value={f}>
                  {tx('flag', f)}
                </option>
              ))}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" name="late" checked={draft.late === 'true'} onChange={(e) => setField('late', e.currentTarget.checked ? 'true' : '')} />
            {t('filterLate')}
          </label>
          <div class="row">
            <button type="submit" class="primary">
              {t('searchButton')}
            </button>
            <button type="button" onClick={() => navigate('/search')}>
              {t('resetButton')}
            </button>
          </div>
          <h3>{t('worklists')}</h3>
          <ul class="worklists">
            {worklists.map((w) => (
              <li key={w.name}>
                <A href={`/search?${w.query}`}>{w.name}</A>
                <button type="button" class="link small" onClick={() => removeWorklist(w.name)} aria-label={`${t('deleteWorklist')} ${w.name}`}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
          <button type="button" class="small" onClick={addWorklist}>
            {t('saveWorklist')}
          </button>
        </form>
        {/* data-query: the query whose rows are shown (none while loading), for tests and the bench. */}
        <div class="results" data-query={items ? key : undefined}>
          <div class="results-head">
            <Tabs
              tabs={[
                ['table', t('viewTable')],
                ['grid', t('viewGrid')],
              ]}
              value={view}
              onChange={chooseView}
            />
            {items && <span class="muted">{t('resultsShown', { n: items.length })}</span>}
          </div>
          {error ? <ErrorLine error={error} /> : items === null ? <Loading /> : items.length === 0 ? <Empty text={t('noResults')} /> : view === 'table' ? <ResultTable items={items} /> : <ResultGrid items={items} />}
          <div id="search-end" />
          {items && next && (
            <button type="button" class="more" onClick={more} disabled={loadingMore}>
              {loadingMore ? t('loading') : t('more')}
            </button>
          )}
        </div>
      </div>
    </Page>
  );
}

function Missing({ item, field, children }: { item: EvidenceItem; field: EvidenceItem['missing'][number]; children: preact.ComponentChildren }) {
  return item.missing.includes(field) ? <span class="missing-field">{t('missing')}</span> : <>{children}</>;
}

function ResultTable({ items }: { items: EvidenceItem[] }) {
  return (
    <table class="data results-table">
      <thead>
        <tr>
          <th>{t('colCapture')}</th>
          <th>{t('colCase')}</th>
          <th>{t('colCollector')}</th>
          <th>{t('colPlace')}</th>
          <th>{t('colSubject')}</th>
          <th>{t('colType')}</th>
          <th>{t('colFlags')}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((i) => (
          <tr key={i.evidenceId} data-evidence={i.evidenceId}>
            <td>
              <A href={`/evidence/${i.evidenceId}`}>
                <Missing item={i} field="captureTime">
                  {dateTime(i.capturedAt)}
                </Missing>
              </A>
            </td>
            <td>
              <Missing item={i} field="caseNumber">
                {i.caseNumbers.join(', ')}
              </Missing>
            </td>
            <td>
              <Missing item={i} field="collector">
                {i.collector.name ?? i.collector.officerId}
              </Missing>
            </td>
            <td>
              <Missing item={i} field="place">
                {i.place}
              </Missing>
            </td>
            <td>
              <Missing item={i} field="subject">
                {i.subject}
              </Missing>
            </td>
            <td>
              {tx('media', i.mediaType)} {i.durationSeconds ? duration(i.durationSeconds) : bytes(i.size)}
            </td>
            <td>
              <FlagBadges flags={i.flags} missing={i.missing} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ResultGrid({ items }: { items: EvidenceItem[] }) {
  return (
    <ul class="grid">
      {items.map((i) => (
        <li key={i.evidenceId} class="card tile">
          <A href={`/evidence/${i.evidenceId}`}>
            {i.thumbnailUrl ? <img src={i.thumbnailUrl} alt={i.originalName} loading="lazy" width={240} height={135} /> : <span class="no-thumb">{tx('media', i.mediaType)}</span>}
            <span class="tile-time">{dateTime(i.capturedAt)}</span>
          </A>
          <span class="tile-case">{i.caseNumbers.join(', ') || <span class="missing-field">{t('field_caseNumber')}</span>}</span>
          <FlagBadges flags={i.flags} missing={i.missing} />
        </li>
      ))}
    </ul>
  );
}
