import { existsSync } from 'node:fs';

/**
 * Child processes that must not outlive their parent start under util-linux's setpriv with
 * PR_SET_PDEATHSIG, so the kernel kills them with it, even when the parent is SIGKILLed and
 * whatever the child's event loop is doing. Where setpriv is missing they rely on their own
 * disconnect watch.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;

/** fork() options that launch node under setpriv --pdeathsig KILL (none without setpriv). */
export function parentDeathLaunch(execArgv: readonly string[] = process.execArgv): { execPath?: string; execArgv?: string[] } {
  if (!SETPRIV) return { execArgv: [...execArgv] };
  const [execPath, args] = withParentDeath(process.execPath, execArgv);
  return { execPath, execArgv: args };
}

/** A program and its arguments, to be spawned under setpriv --pdeathsig KILL (as is without setpriv). */
export function withParentDeath(program: string, args: readonly string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', program, ...args]] : [program, [...args]];
}
