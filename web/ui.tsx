import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, NetworkError } from './api.client.ts';
import { serverMessage, t, tx } from './i18n.ts';
import { link } from './router.ts';

/** One clear line for any failure: the server's own message in the user's language, never a stack. */
export function errorLine(e: unknown): string {
  if (e instanceof ApiError) {
    const msg = serverMessage(e);
    return e.problems.length > 0 ? `${msg}：${e.problems.join('；')}` : msg;
  }
  if (e instanceof NetworkError) return t('networkError');
  return t('serverError', { msg: e instanceof Error ? e.message : String(e) });
}

export function ErrorLine({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <p class="error" role="alert">
      {errorLine(error)}
      {onRetry && (
        <button type="button" class="link" onClick={onRetry}>
          {t('retry')}
        </button>
      )}
    </p>
  );
}

export function Loading() {
  return (
    <p class="loading" role="status" aria-live="polite">
      {t('loading')}
    </p>
  );
}

export function Empty({ text }: { text?: string }) {
  return <p class="empty">{text ?? t('empty')}</p>;
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads once per change of `deps`; a stale answer never overwrites a newer one. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error: unknown) => mine === generation.current && setState({ data: null, error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** Empty, loading and error states around a loaded value. */
export function Show<T>({ loaded, children, empty }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren; empty?: (data: T) => boolean }) {
  if (loaded.error) return <ErrorLine error={loaded.error} onRetry={loaded.reload} />;
  if (loaded.data === null) return <Loading />;
  if (empty?.(loaded.data)) return <Empty />;
  return <>{children(loaded.data)}</>;
}

export function A({ href, children, class: cls }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} onClick={link} class={cls}>
      {children}
    </a>
  );
}

export function FlagBadges({ flags, missing }: { flags: string[]; missing?: string[] }) {
  const shown = new Set(flags);
  return (
    <span class="badges">
      {[...shown].map((f) => (
        <span key={f} class={`badge ${f === 'transfer-late' || f.startsWith('missing') || f === 'unregistered' ? 'warn' : ''}`}>
          {tx('flag', f)}
        </span>
      ))}
      {missing && missing.length > 0 && shown.size === 0 && <span class="badge warn">{t('missing')}</span>}
    </span>
  );
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · evidock`;
  }, [title]);
  return (
    <section class="page">
      <header class="page-head">
        <h1 tabIndex={-1} id="page-title">
          {title}
        </h1>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Tabs<K extends string>({ tabs, value, onChange }: { tabs: Array<[K, string]>; value: K; onChange: (k: K) => void }) {
  return (
    <div class="tabs" role="tablist">
      {tabs.map(([k, label]) => (
        <button key={k} type="button" role="tab" aria-selected={k === value} class={k === value ? 'tab active' : 'tab'} onClick={() => onChange(k)}>
          {label}
        </button>
      ))}
    </div>
  );
}
