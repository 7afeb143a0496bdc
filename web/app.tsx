import { useEffect, useState } from 'preact/hooks';
import { api, loadMe, me, sessionExpired, type Me } from './api.client.ts';
import { timeZone } from './format.ts';
import { locale, setLocale, t, tx, type MessageKey } from './i18n.ts';
import { AdminPage } from './pages/admin.page.tsx';
import { ApprovalsPage } from './pages/approvals.page.tsx';
import { AuditPage } from './pages/audit.page.tsx';
import { CasePage, CasesPage } from './pages/case.page.tsx';
import { DockBoardPage } from './pages/dock-board.page.tsx';
import { ItemPage } from './pages/item.page.tsx';
import { ChangePasswordPage, LoginPage } from './pages/login.page.tsx';
import { ReportsPage } from './pages/reports.page.tsx';
import { SearchPage } from './pages/search.page.tsx';
import { SharedPage } from './pages/shared.page.tsx';
import { match, navigate, route } from './router.ts';
import { A, ErrorLine, Loading } from './ui.tsx';

/** Which pages each role has (the server decides what it may do; this only hides dead ends). */
const NAV: Array<{ path: string; label: MessageKey; roles: string[] }> = [
  { path: '/docks', label: 'navDocks', roles: ['officer', 'custodian', 'supervisor'] },
  { path: '/search', label: 'navSearch', roles: ['officer', 'custodian', 'supervisor', 'auditor'] },
  { path: '/cases', label: 'navCases', roles: ['officer', 'custodian', 'supervisor', 'auditor'] },
  { path: '/approvals', label: 'navApprovals', roles: ['officer', 'custodian', 'supervisor', 'auditor'] },
  { path: '/audit', label: 'navAudit', roles: ['auditor', 'supervisor', 'custodian'] },
  { path: '/reports', label: 'navReports', roles: ['custodian', 'supervisor', 'auditor'] },
  { path: '/admin', label: 'navAdmin', roles: ['admin'] },
];

const RETURN_TO = 'evidock.returnTo';

function home(role: string): string {
  return NAV.find((n) => n.roles.includes(role))?.path ?? '/search';
}

export function App() {
  // A share link's recipient has no account: their page never asks for a session, so it
  // neither shows the archive's navigation nor sends them to the login page.
  const shared = match('/share/:token', route.value.path);
  if (shared) return <SharedPage token={shared.token!} />;
  return <Archive />;
}

function Archive() {
  const [booting, setBooting] = useState(true);
  const [bootError, setBootError] = useState<unknown>(null);

  const boot = () => {
    setBootError(null);
    Promise.all([loadMe(), api.get<{ timeZone: string }>('/settings').then((s) => (timeZone.value = s.timeZone))]).then(
      () => setBooting(false),
      (e: unknown) => {
        setBootError(e);
        setBooting(false);
      },
    );
  };
  useEffect(boot, []);

  // A request answered 401: the session ended (expiry, logout elsewhere). Back to the login
  // page, remembering where the user was.
  useEffect(() => {
    if (!sessionExpired.value) return;
    try {
      sessionStorage.setItem(RETURN_TO, `${location.pathname}${location.search}`);
    } catch {
      // Without storage the user lands on their home page instead.
    }
    me.value = null;
    navigate('/login?expired=1', { replace: true });
  }, [sessionExpired.value]);

  if (booting) return <Loading />;
  if (bootError) return <ErrorLine error={bootError} onRetry={boot} />;

  const user = me.value;
  const r = route.value;
  if (!user) {
    if (r.path !== '/login') {
      try {
        if (r.path !== '/') sessionStorage.setItem(RETURN_TO, `${r.path}${location.search}`);
      } catch {
        // see above
      }
      queueMicrotask(() => navigate('/login', { replace: true }));
      return <Loading />;
    }
    return <LoginPage expired={r.query.get('expired') === '1'} onLoggedIn={afterLogin} />;
  }
  if (user.mustChangePassword) return <Shell user={user}><ChangePasswordPage forced onDone={() => loadMe().then(() => navigate(home(user.role), { replace: true }))} /></Shell>;
  if (r.path === '/' || r.path === '/login') {
    queueMicrotask(() => navigate(home(user.role), { replace: true }));
    return <Loading />;
  }
  return <Shell user={user}>{page(r.path)}</Shell>;
}

function afterLogin(user: Me): void {
  sessionExpired.value = false;
  let to: string | null = null;
  try {
    to = sessionStorage.getItem(RETURN_TO);
    sessionStorage.removeItem(RETURN_TO);
  } catch {
    to = null;
  }
  navigate(!user.mustChangePassword && to && to.startsWith('/') && !to.startsWith('//') ? to : home(user.role), { replace: true });
}

function page(path: string) {
  let m: Record<string, string> | null;
  if (path === '/docks') return <DockBoardPage />;
  if (path === '/search') return <SearchPage />;
  if ((m = match('/evidence/:id', path))) return <ItemPage id={m.id!} />;
  if (path === '/cases') return <CasesPage />;
  if ((m = match('/cases/:caseNumber', path))) return <CasePage caseNumber={m.caseNumber!} />;
  if (path === '/approvals') return <ApprovalsPage />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/reports') return <ReportsPage />;
  if (path === '/admin') return <AdminPage />;
  if (path === '/password') return <ChangePasswordPage forced={false} onDone={() => navigate('/')} />;
  return <p class="empty">404</p>;
}

function Shell({ user, children }: { user: Me; children: preact.ComponentChildren }) {
  const path = route.value.path;
  const logout = async () => {
    await api.post('/auth/logout').catch(() => undefined);
    me.value = null;
    navigate('/login', { replace: true });
  };
  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t('skipToContent')}
      </a>
      <header class="top">
        <span class="brand">{t('appName')}</span>
        <nav aria-label="main">
          {NAV.filter((n) => n.roles.includes(user.role)).map((n) => (
            <A key={n.path} href={n.path} class={path.startsWith(n.path) || (n.path === '/search' && path.startsWith('/evidence')) ? 'nav active' : 'nav'}>
              {t(n.label)}
            </A>
          ))}
        </nav>
        <span class="who">
          <A href="/password" class="nav">
            {user.name}
          </A>{' '}
          <span class="role">{tx('role', user.role)}</span>
        </span>
        <button type="button" class="lang" aria-label={t('languageLabel')} onClick={() => setLocale(locale.value === 'en' ? 'zh-CN' : 'en')}>
          {t('language')}
        </button>
        <button type="button" class="logout" onClick={logout}>
          {t('logout')}
        </button>
      </header>
      <main id="main">{children}</main>
    </div>
  );
}
