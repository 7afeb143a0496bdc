import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, type EvidockConfig } from './config.schema.ts';

/**
 * The repository root: the default home of `var/` and of `evidock.config.json`. The build
 * (scripts/build.mjs) puts this module one level deeper, in dist/config/.
 */
const SOURCE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = basename(SOURCE_ROOT) === 'dist' ? dirname(SOURCE_ROOT) : SOURCE_ROOT;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SECRET_KEYS = new Set(['password', 'sentinelPassword', 'secretKey', 'accessKey', 'unlockPassword']);

/**
 * Environment variables that configure evidock. Only this module reads `process.env`;
 * everything else receives a validated EvidockConfig.
 *
 * - EVIDOCK_CONFIG: path of a JSON config file (default ./evidock.config.json if present).
 * - EVIDOCK_CONFIG_JSON: a whole configuration as JSON, applied over everything else. A
 *   parent process hands its exact configuration to the sandboxed processes it forks.
 * - EVIDOCK__<path>: one setting, path segments joined by double underscores, e.g.
 *   EVIDOCK__minio__port=9000 or EVIDOCK__ingest__clearAfterVerified=false.
 *   The value is parsed as JSON when it parses, else taken as a string.
 */
export interface ConfigSources {
  env?: Record<string, string | undefined>;
  file?: string;
  overrides?: JsonObject;
}

export function loadConfig(sources: ConfigSources = {}): EvidockConfig {
  const env = sources.env ?? process.env;
  const problems: string[] = [];
  let merged: JsonObject = {};

  const file = sources.file ?? env.EVIDOCK_CONFIG ?? defaultFileIfPresent();
  if (file) {
    const fromFile = readConfigFile(file, problems);
    if (fromFile) merged = deepMerge(merged, fromFile);
  }
  merged = deepMerge(merged, envOverrides(env, problems));
  if (env.EVIDOCK_CONFIG_JSON) {
    try {
      const whole = JSON.parse(env.EVIDOCK_CONFIG_JSON) as unknown;
      if (isObject(whole)) merged = deepMerge(merged, whole);
      else problems.push('EVIDOCK_CONFIG_JSON: must hold a JSON object');
    } catch (error) {
      problems.push(`EVIDOCK_CONFIG_JSON: not valid JSON (${(error as Error).message})`);
    }
  }
  if (sources.overrides) merged = deepMerge(merged, sources.overrides);

  const withDefaults: JsonObject = {
    workstationId: defaultWorkstationId(),
    dataDir: resolve(REPO_ROOT, 'var'),
    ...merged,
  };
  const parsed = configSchema.safeParse(withDefaults);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      problems.push(`${where}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const config = parsed.data;
  config.dataDir = absolute(config.dataDir);
  if (config.ingest.spoolDir) config.ingest.spoolDir = absolute(config.ingest.spoolDir);
  if (config.logFile) config.logFile = absolute(config.logFile);
  if (config.media.workDir) config.media.workDir = absolute(config.media.workDir);
  return config;
}

export function spoolDirOf(config: EvidockConfig): string {
  return config.ingest.spoolDir ?? resolve(config.dataDir, 'spool');
}

export function workDirOf(config: EvidockConfig): string {
  return config.media.workDir ?? resolve(config.dataDir, 'work');
}

export function keyDirOf(config: EvidockConfig): string {
  return resolve(config.dataDir, 'keys');
}

/** Values that must never reach a log line or an error message. */
export function secretsOf(config: EvidockConfig): string[] {
  return [config.redis.password, config.redis.sentinelPassword, config.postgres.password, config.minio.secretKey, config.ingest.unlockPassword].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path);
}

function defaultFileIfPresent(): string | undefined {
  const candidate = resolve(REPO_ROOT, 'evidock.config.json');
  try {
    statSync(candidate);
    return candidate;
  } catch {
    return undefined;
  }
}

function defaultWorkstationId(): string {
  const cleaned = hostname().replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[-_]+/, '').slice(0, 63);
  return cleaned.length > 0 ? cleaned : 'workstation';
}

function readConfigFile(file: string, problems: string[]): JsonObject | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`config file ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.push(`config file ${file}: not valid JSON (${(error as Error).message})`);
    return undefined;
  }
  if (!isObject(value)) {
    problems.push(`config file ${file}: must hold a JSON object`);
    return undefined;
  }
  // A credential in a file every local user can read is as good as published.
  if (containsSecret(value) && (statSync(file).mode & 0o004) !== 0) {
    problems.push(`config file ${file}: holds credentials but is world-readable; run chmod o-r on it`);
  }
  return value;
}

function envOverrides(env: Record<string, string | undefined>, problems: string[]): JsonObject {
  let out: JsonObject = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('EVIDOCK__') || raw === undefined) continue;
    const path = name.slice('EVIDOCK__'.length).split('__');
    if (path.some((segment) => segment.length === 0)) {
      problems.push(`${name}: empty path segment`);
      continue;
    }
    let value: Json;
    try {
      value = JSON.parse(raw) as Json;
    } catch {
      value = raw;
    }
    let node: Json = value;
    for (let i = path.length - 1; i >= 0; i--) node = { [path[i]!]: node };
    out = deepMerge(out, node as JsonObject);
  }
  return out;
}

function containsSecret(value: Json): boolean {
  if (Array.isArray(value)) return value.some(containsSecret);
  if (!isObject(value)) return false;
  return Object.entries(value).some(([k, v]) => (SECRET_KEYS.has(k) && typeof v === 'string' && v.length > 0) || containsSecret(v));
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const current = out[k];
    out[k] = isObject(current) && isObject(v) ? deepMerge(current, v) : v;
  }
  return out;
}
