import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Runs scripts/stack.sh, which installs and starts the local services on loopback. */
export function runStack(repoRoot: string, action: 'up' | 'down' | 'status'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'scripts', 'stack.sh'), action], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
