import { useState } from 'preact/hooks';
import { api } from '../api.client.ts';
import { dateTime } from '../format.ts';
import { t, tx, type MessageKey } from '../i18n.ts';
import { Empty, errorLine, Page, Show, Tabs, useLoad } from '../ui.tsx';

interface Unit {
  id: string;
  name: string;
  parentId: string | null;
  path: string;
}
interface User {
  name: string;
  role: string;
  officerId: string | null;
  units: string[];
  disabled: boolean;
  locked: boolean;
  mustChangePassword: boolean;
  createdAt: string;
}
interface Key {
  id: string;
  name: string;
  role: string;
  units: string[];
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}
interface Recorder {
  serial: string;
  officerId: string | null;
  officerName: string | null;
  unitId: string | null;
}

const ROLES = ['officer', 'custodian', 'supervisor', 'auditor', 'admin'];

type Tab = 'users' | 'keys' | 'units' | 'recorders';

export function AdminPage() {
  const [tab, setTab] = useState<Tab>('users');
  return (
    <Page title={t('adminTitle')}>
      <Tabs tabs={(['users', 'keys', 'units', 'recorders'] as const).map((k) => [k, t(k)] as [Tab, string])} value={tab} onChange={setTab} />
      {tab === 'users' && <Users />}
      {tab === 'keys' && <Keys />}
      {tab === 'units' && <Units />}
      {tab === 'recorders' && <Recorders />}
    </Page>
  );
}

/** A one-row form whose fields are given as [name, label, options?]; posts, then reloads. */
function AddForm({ fields, submit, after }: { fields: Array<[string, MessageKey, string[]?]>; submit: (v: Record<string, string>) => Promise<unknown>; after: (r: unknown) => void }) {
  const [v, setV] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      class="filters inline card"
      onSubmit={async (e) => {
        e.preventDefault();
        setProblem(null);
        try {
          after(await submit(v));
          setV({});
        } catch (error) {
          setProblem(errorLine(error));
        }
      }}
    >
      {fields.map(([name, label, options]) => (
        <label key={name}>
          {t(label)}
          {options ? (
            <select name={name} value={v[name] ?? ''} onChange={(e) => setV({ ...v, [name]: e.currentTarget.value })}>
              <option value="" />
              {options.map((o) => (
                <option key={o} value={o}>
                  {tx('role', o)}
                </option>
              ))}
            </select>
          ) : (
            name === 'password' ? (
              <input name={name} type="password" autoComplete="new-password" value={v[name] ?? ''} onInput={(e) => setV({ ...v, [name]: e.currentTarget.value })} />
            ) : (
              <input name={name} value={v[name] ?? ''} onInput={(e) => setV({ ...v, [name]: e.currentTarget.value })} />
            )
          )}
        </label>
      ))}
      <button type="submit" class="primary">
        {t('add')}
      </button>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

const list = (s: string | undefined) => (s ?? '').split(/[,，\s]+/).filter(Boolean);

function Users() {
  const loaded = useLoad(() => api.get<User[]>('/admin/users'), []);
  return (
    <>
      <AddForm
        fields={[
          ['name', 'userName'],
          ['role', 'role', ROLES],
          ['officerId', 'officerId'],
          ['units', 'units'],
          ['password', 'password'],
        ]}
        submit={(v) => api.post('/admin/users', { name: v.name, role: v.role, ...(v.officerId ? { officerId: v.officerId } : {}), units: list(v.units), password: v.password })}
        after={loaded.reload}
      />
      <Show loaded={loaded} empty={(r) => r.length === 0}>
        {(rows) => (
          <table class="data">
            <thead>
              <tr>
                <th>{t('userName')}</th>
                <th>{t('role')}</th>
                <th>{t('officerId')}</th>
                <th>{t('units')}</th>
                <th>{t('result')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((u) => (
                <tr key={u.name}>
                  <td>{u.name}</td>
                  <td>{tx('role', u.role)}</td>
                  <td>{u.officerId ?? '—'}</td>
                  <td>{u.units.join(', ')}</td>
                  <td>
                    {u.disabled && <span class="badge">{t('disabled')}</span>} {u.locked && <span class="badge warn">{t('locked')}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </>
  );
}

function Keys() {
  const loaded = useLoad(() => api.get<Key[]>('/admin/keys'), []);
  const [shown, setShown] = useState<string | null>(null);
  return (
    <>
      <AddForm
        fields={[
          ['name', 'name'],
          ['units', 'units'],
        ]}
        submit={(v) => api.post<{ key: string }>('/admin/keys', { name: v.name, role: 'case-system', units: list(v.units) })}
        after={(r) => {
          setShown((r as { key: string }).key);
          loaded.reload();
        }}
      />
      {shown && (
        <p class="notice">
          {t('keyShownOnce')} <code class="hash">{shown}</code>
        </p>
      )}
      <Show loaded={loaded} empty={(r) => r.length === 0}>
        {(rows) => (
          <table class="data">
            <thead>
              <tr>
                <th>{t('name')}</th>
                <th>{t('role')}</th>
                <th>{t('units')}</th>
                <th>{t('started')}</th>
                <th>{t('result')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>{tx('role', k.role)}</td>
                  <td>{k.units.join(', ')}</td>
                  <td>{dateTime(k.createdAt)}</td>
                  <td>{k.revokedAt ? `${t('revoke')} ${dateTime(k.revokedAt)}` : dateTime(k.lastUsedAt)}</td>
                  <td>
                    {!k.revokedAt && (
                      <button type="button" class="small" onClick={() => api.delete(`/admin/keys/${k.id}`).then(loaded.reload)}>
                        {t('revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </>
  );
}

function Units() {
  const loaded = useLoad(() => api.get<Unit[]>('/admin/units'), []);
  return (
    <>
      <AddForm
        fields={[
          ['id', 'unitId'],
          ['name', 'name'],
          ['parentId', 'parentUnit'],
        ]}
        submit={(v) => api.post('/admin/units', { id: v.id, name: v.name, ...(v.parentId ? { parentId: v.parentId } : {}) })}
        after={loaded.reload}
      />
      <Show loaded={loaded}>
        {(rows) =>
          rows.length === 0 ? (
            <Empty />
          ) : (
            <ul class="tree">
              {[...rows]
                .sort((a, b) => a.path.localeCompare(b.path))
                .map((u) => (
                  <li key={u.id} style={{ paddingLeft: `${(u.path.split('.').length - 1) * 1.5}em` }}>
                    <strong>{u.name}</strong> <code>{u.id}</code>
                  </li>
                ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}

function Recorders() {
  const loaded = useLoad(() => api.get<Recorder[]>('/admin/recorders'), []);
  return (
    <>
      <AddForm
        fields={[
          ['serial', 'recorder'],
          ['officerId', 'officerId'],
          ['officerName', 'officerName'],
          ['unitId', 'unitId'],
        ]}
        submit={(v) => api.post('/admin/recorders', Object.fromEntries(Object.entries(v).filter(([, x]) => x)))}
        after={loaded.reload}
      />
      <Show loaded={loaded} empty={(r) => r.length === 0}>
        {(rows) => (
          <table class="data">
            <thead>
              <tr>
                <th>{t('recorder')}</th>
                <th>{t('officerId')}</th>
                <th>{t('officerName')}</th>
                <th>{t('unitId')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.serial}>
                  <td>{r.serial}</td>
                  <td>{r.officerId ?? '—'}</td>
                  <td>{r.officerName ?? '—'}</td>
                  <td>{r.unitId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </>
  );
}
