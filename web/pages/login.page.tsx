import { useState } from 'preact/hooks';
import { api, ApiError, me, type Me } from '../api.client.ts';
import { dateTime } from '../format.ts';
import { locale, setLocale, t } from '../i18n.ts';
import { errorLine, Page } from '../ui.tsx';

function loginProblem(e: unknown): string {
  if (e instanceof ApiError && e.code === 'ACCOUNT_LOCKED' && e.retryAfterSeconds) {
    const until = new Date(Date.now() + e.retryAfterSeconds * 1000).toISOString();
    return t('lockedUntil', { time: dateTime(until), minutes: Math.max(1, Math.ceil(e.retryAfterSeconds / 60)) });
  }
  if (e instanceof ApiError && e.status === 429) return t('rateLimited', { seconds: e.retryAfterSeconds ?? 60 });
  if (e instanceof ApiError && e.code === 'BAD_CREDENTIALS') return t('loginFailed');
  return errorLine(e);
}

export function LoginPage({ expired, onLoggedIn }: { expired: boolean; onLoggedIn: (m: Me) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const m = await api.post<Me>('/auth/login', { name, password });
      me.value = m;
      onLoggedIn(m);
    } catch (error) {
      setProblem(loginProblem(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-wrap">
      <form class="card login" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t('appName')}</h1>
        <h2>{t('loginTitle')}</h2>
        {expired && (
          <p class="notice" role="status">
            {t('sessionExpired')}
          </p>
        )}
        <label>
          {t('userName')}
          <input name="name" autoComplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus />
        </label>
        <label>
          {t('password')}
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {t('loginButton')}
        </button>
        <button type="button" class="lang link" onClick={() => setLocale(locale.value === 'en' ? 'zh-CN' : 'en')}>
          {t('language')}
        </button>
      </form>
    </div>
  );
}

export function ChangePasswordPage({ forced, onDone }: { forced: boolean; onDone: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    if (next !== again) return setProblem(t('passwordsDiffer'));
    try {
      await api.post('/auth/password', { current, next });
      setDone(true);
      onDone();
    } catch (error) {
      setProblem(errorLine(error));
    }
  };
  return (
    <Page title={t('changePasswordTitle')}>
      <form class="card narrow" onSubmit={submit}>
        {forced && <p class="notice">{t('mustChangePassword')}</p>}
        <label>
          {t('currentPassword')}
          <input name="current" type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </label>
        <label>
          {t('newPassword')}
          <input name="next" type="password" autoComplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </label>
        <label>
          {t('newPasswordAgain')}
          <input name="again" type="password" autoComplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
        </label>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        {done && <p class="ok">{t('passwordChanged')}</p>}
        <button type="submit" class="primary">
          {t('save')}
        </button>
      </form>
    </Page>
  );
}
