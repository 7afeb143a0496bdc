import { destination, pino, stdTimeFunctions, type Logger } from 'pino';

/**
 * One structured logger per module: `const log = moduleLogger('ingest')`. Context such as
 * device serial, evidence id and job id goes in as fields (`log.child({ serial, jobId })`),
 * never interpolated into the message, so the logs can be queried.
 *
 * Credentials are scrubbed twice: pino's path redaction for known keys, and a last pass
 * over the serialized line for the literal secret values of this process's config, so an
 * error message that quotes a connection string cannot leak a password.
 */

let root: Logger = pino({ level: 'info', base: undefined });
let secrets: string[] = [];

export interface LoggingOptions {
  level: string;
  file?: string;
  secrets?: string[];
}

export function configureLogging(options: LoggingOptions): void {
  secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const target = options.file ? destination({ dest: options.file, mkdir: true, sync: false }) : destination(2);
  root = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', 'sentinelPassword', 'secretKey', 'accessKey', 'unlockPassword', '*.password', '*.sentinelPassword', '*.secretKey', '*.accessKey', '*.unlockPassword'],
        censor: '[redacted]',
      },
      hooks: {
        streamWrite: (line: string) => scrub(line),
      },
    },
    target,
  );
  for (const name of modules.keys()) modules.set(name, root.child({ module: name }));
  for (const proxy of proxies) proxy.rebind();
}

export function scrub(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}

const modules = new Map<string, Logger>();
const proxies = new Set<{ rebind(): void }>();

/**
 * A module's logger. It follows later `configureLogging` calls, so modules may create it at
 * import time, before the config has been read.
 */
export function moduleLogger(name: string): Logger {
  let target = root.child({ module: name });
  modules.set(name, target);
  const handle = {
    rebind() {
      target = modules.get(name) ?? root.child({ module: name });
    },
  };
  proxies.add(handle);
  return new Proxy({} as Logger, {
    get(_t, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
