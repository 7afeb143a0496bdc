import { useState } from 'preact/hooks';
import { api } from '../api.client.ts';
import { bytes, csv, download } from '../format.ts';
import { t, type MessageKey } from '../i18n.ts';
import { Empty, Page, Show, useLoad } from '../ui.tsx';

interface Row {
  key: string | null;
  items: number;
  bytes: number;
  durationSeconds: number;
  onTime: number;
  late: number;
  complete: number;
  missingCase: number;
  unregistered: number;
}
interface Report {
  period: { label: string; from: string; to: string };
  by: string;
  rows: Row[];
  total: Row;
}

const COLUMNS: Array<[keyof Row, MessageKey]> = [
  ['items', 'rItems'],
  ['durationSeconds', 'rHours'],
  ['bytes', 'colSize'],
  ['onTime', 'rOnTime'],
  ['late', 'rLate'],
  ['complete', 'rComplete'],
  ['missingCase', 'worklistMissingCase'],
  ['unregistered', 'flag_unregistered'],
];

function defaultQuarter(): string {
  const d = new Date();
  return `${d.getFullYear()}-Q${Math.floor(d.getMonth() / 3) + 1}`;
}

export function ReportsPage() {
  const [kind, setKind] = useState<'quarter' | 'year' | 'month'>('quarter');
  const [value, setValue] = useState(defaultQuarter());
  const [by, setBy] = useState<'unit' | 'officer' | 'recorder'>('unit');
  const [query, setQuery] = useState({ kind, value, by });
  const loaded = useLoad(() => api.get<Report>('/reports', { [query.kind]: query.value, by: query.by }), [JSON.stringify(query)]);
  const cell = (r: Row, k: keyof Row) => (k === 'bytes' ? bytes(r.bytes) : k === 'durationSeconds' ? (r.durationSeconds / 3600).toFixed(1) : String(r[k] ?? ''));
  return (
    <Page
      title={t('reportsTitle')}
      actions={
        <button type="button" onClick={() => print()}>
          {t('print')}
        </button>
      }
    >
      <form
        class="filters inline card no-print"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ kind, value, by });
        }}
      >
        <label>
          {t('period')}
          <select
            value={kind}
            onChange={(e) => {
              const k = e.currentTarget.value as typeof kind;
              setKind(k);
              const y = new Date().getFullYear();
              setValue(k === 'quarter' ? defaultQuarter() : k === 'year' ? String(y) : `${y}-${String(new Date().getMonth() + 1).padStart(2, '0')}`);
            }}
          >
            <option value="quarter">{t('quarter')}</option>
            <option value="year">{t('year')}</option>
            <option value="month">{t('month')}</option>
          </select>
        </label>
        <label>
          {t(kind)}
          <input name="period" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <label>
          {t('groupBy')}
          <select value={by} onChange={(e) => setBy(e.currentTarget.value as typeof by)}>
            <option value="unit">{t('by_unit')}</option>
            <option value="officer">{t('by_officer')}</option>
            <option value="recorder">{t('by_recorder')}</option>
          </select>
        </label>
        <button type="submit" class="primary">
          {t('searchButton')}
        </button>
      </form>
      <Show loaded={loaded}>
        {(r) => (
          <>
            <h2>
              {t('period')} {r.period.label}
            </h2>
            {r.rows.length === 0 ? (
              <Empty />
            ) : (
              <>
                <Bars rows={r.rows} />
                <button type="button" class="no-print" onClick={() => download(`report-${r.period.label}-${r.by}.csv`, csv([['key', ...COLUMNS.map(([k]) => k)], ...[...r.rows, { ...r.total, key: 'total' }].map((row) => [row.key, ...COLUMNS.map(([k]) => row[k])])]))}>
                  {t('csv')}
                </button>
                <table class="data">
                  <thead>
                    <tr>
                      <th>{t(`by_${r.by}` as MessageKey)}</th>
                      {COLUMNS.map(([k, label]) => (
                        <th key={k}>{t(label)}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {r.rows.map((row) => (
                      <tr key={row.key ?? '-'}>
                        <td>{row.key ?? t('unknown')}</td>
                        {COLUMNS.map(([k]) => (
                          <td key={k}>{cell(row, k)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th>{t('total')}</th>
                      {COLUMNS.map(([k]) => (
                        <th key={k}>{cell(r.total, k)}</th>
                      ))}
                    </tr>
                  </tfoot>
                </table>
              </>
            )}
          </>
        )}
      </Show>
    </Page>
  );
}

/** Items per group, on time and late, as horizontal bars (SVG, prints as it shows). */
function Bars({ rows }: { rows: Row[] }) {
  const max = Math.max(1, ...rows.map((r) => r.items));
  const shown = rows.slice(0, 20);
  const h = 22;
  return (
    <svg class="bars" viewBox={`0 0 640 ${shown.length * h + 10}`} role="img" aria-label={t('rItems')}>
      {shown.map((r, i) => {
        const w = (n: number) => (n / max) * 460;
        return (
          <g key={r.key ?? '-'} transform={`translate(0 ${i * h + 5})`}>
            <text x="0" y="14" font-size="12">
              {(r.key ?? t('unknown')).slice(0, 18)}
            </text>
            <rect x="150" y="3" height="14" width={w(r.onTime)} fill="#2e7d5b" />
            <rect x={150 + w(r.onTime)} y="3" height="14" width={w(r.late)} fill="#c0392b" />
            <rect x={150 + w(r.onTime) + w(r.late)} y="3" height="14" width={w(Math.max(0, r.items - r.onTime - r.late))} fill="#9aa5b1" />
            <text x={156 + w(r.items)} y="14" font-size="12">
              {r.items}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
