import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';

/**
 * Private Redis, PostgreSQL and MinIO servers for tests that take a service down. Each
 * runs on a free loopback port with its data under the test's own directory, so stopping
 * it never disturbs the shared stack (scripts/stack.sh) other tests are using.
 *
 * `stop()` shuts the server down the polite way (SIGTERM; `pg_ctl -m fast`) and waits for
 * the process to exit; `start()` brings it back on the same port with the same data.
 * Every server still running when the test process exits is killed, so a failing test
 * leaves nothing behind; call `stopAllPrivateServices()` in afterAll anyway.
 */
export interface PrivateService {
  readonly name: string;
  readonly port: number;
  /** Where its data and log live. */
  readonly dir: string;
  readonly running: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Last lines of its log, for failure messages. */
  logTail(lines?: number): string;
}

export interface PrivateServiceOptions {
  /**
   * Listen here instead of on a fresh free port: lets a test take a port from freePort(),
   * build its config with it, then start the server under that config's directory.
   */
  port?: number;
  /** Serve TLS only, with this certificate (see makeTestCertificates). */
  tls?: TestCertificates;
  /** Folder of its own under the parent (several servers of a kind: a cluster's nodes). */
  subdir?: string;
  /** More server arguments (cluster mode, replication). */
  extraArgs?: string[];
  /**
   * Run `redis-server --sentinel` watching this master instead of a data server. Its config
   * file is written on the first start only: Sentinel rewrites it with what it learns (the
   * replicas, the other Sentinels, the current master), and a restart must keep that.
   */
  sentinel?: { name: string; masterPort: number; quorum: number; downAfterMs: number };
}

/** A private CA and a server certificate for 127.0.0.1 / localhost signed by it (PEM files). */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Generates a throw-away CA and server certificate with openssl under `dir`. */
export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=evidock test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
  openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext]);
  return { caFile, certFile, keyFile };
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

const MINIO_USER = 'evidock';
const MINIO_PASSWORD = 'evidock-local-secret';

// ---- config sections pointing evidock at a private server --------------------------------
//
// Whole sections, because createTestEnv replaces a top-level section of its settings with
// the override, and the environment (EVIDOCK__redis__password etc.) is merged underneath:
// anything the shared stack needs but a private server must not get is cleared here.

export function privateMinioConfig(port: number): Record<string, unknown> {
  return { endPoint: HOST, port, useSSL: false, caFile: undefined, accessKey: MINIO_USER, secretKey: MINIO_PASSWORD };
}

export function privateRedisConfig(port: number): Record<string, unknown> {
  return { host: HOST, port, password: undefined, db: 0, prefix: 'evidock', tls: { enabled: false } };
}

export function privatePostgresConfig(port: number): Record<string, unknown> {
  return { host: HOST, port, database: 'evidock', user: 'evidock', password: undefined, tls: { enabled: false } };
}

// ---- bookkeeping: nothing outlives the test process -------------------------------------

interface Tracked {
  service: PrivateService;
  /** Synchronous, last-resort kill (process exit). */
  kill(): void;
}

const tracked = new Set<Tracked>();
let exitHookInstalled = false;

function track(entry: Tracked): void {
  tracked.add(entry);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const t of tracked) {
        try {
          t.kill();
        } catch {
          // best effort: the process is going away
        }
      }
    });
  }
}

/** Stops every private server this process started (for afterAll). Never throws. */
export async function stopAllPrivateServices(): Promise<void> {
  const all = [...tracked];
  await Promise.all(
    all.map(async (t) => {
      try {
        await t.service.stop();
      } catch {
        t.kill();
      }
      tracked.delete(t);
    }),
  );
}

// ---- helpers -----------------------------------------------------------------------------

/**
 * A port nobody listens on right now, for a server a test starts a moment later.
 *
 * Not the kernel's pick for port 0: that comes from the ephemeral range, which every
 * outgoing connection (to Redis, PostgreSQL, MinIO) also takes its local port from, so in the
 * gap between this check and the server's bind a client could take it ("port is already in
 * use"). Ports below the ephemeral range are only ever taken by an explicit bind; a port is
 * handed out once per process.
 */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralLow() - 1;
  const floor = Math.max(1024, ceiling - 12_000);
  for (let tries = 0; tries < 500; tries++) {
    const port = floor + randomInt(ceiling - floor + 1);
    if (handedOut.has(port) || STACK_PORTS.has(port)) continue;
    if (!(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${floor} and ${ceiling}`);
}

const handedOut = new Set<number>();
/** The shared stack's ports (scripts/stack.sh defaults), even while it is down. */
const STACK_PORTS = new Set([6390, 5439, 9010, 9011]);

/** First port of the kernel's ephemeral range (Linux: net.ipv4.ip_local_port_range). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 2048) return low;
  } catch {
    // not Linux: IANA's dynamic range starts at 49152
  }
  return 49152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveListen) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolveListen(false));
    server.listen(port, HOST, () => server.close(() => resolveListen(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, alive: () => boolean, log: () => string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (!alive()) throw new Error(`${what} exited before it was ready\n${log()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms\n${log()}`);
    await sleep(100);
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

/** Spawns a foreground server with stdout/stderr appended to `logFile`. */
function spawnLogged(command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
    // A spawn failure (ENOENT) must become a start error, not an uncaught 'error' event.
    child.on('error', () => undefined);
    return child;
  } finally {
    closeSync(fd);
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function terminate(child: ChildProcess, what: string): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = sleep(STOP_TIMEOUT_MS).then(() => 'timeout' as const);
  if ((await Promise.race([done.then(() => 'exited' as const), timer])) === 'timeout') {
    child.kill('SIGKILL');
    await done;
    throw new Error(`${what} did not stop within ${STOP_TIMEOUT_MS} ms on SIGTERM; killed`);
  }
}

function httpOk(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise((r) => {
    const get = url.startsWith('https:') ? (u: string, o: https.RequestOptions, cb: (res: http.IncomingMessage) => void) => https.get(u, o, cb) : http.get;
    const req = get(url, { timeout: 2000, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      r(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => r(false));
  });
}

/** One RESP PING over a fresh socket; true on +PONG. */
function redisPing(port: number, ca?: Buffer): Promise<boolean> {
  return new Promise((r) => {
    const socket = ca ? tls.connect({ host: HOST, port, ca }) : net.connect({ host: HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      r(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on(ca ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

// ---- MinIO -------------------------------------------------------------------------------

/** MinIO wants its certificate as public.crt / private.key in a directory. */
function certsDir(tls: TestCertificates): string {
  const dir = join(dirname(tls.certFile), 'minio-certs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'public.crt'), readFileSync(tls.certFile));
  writeFileSync(join(dir, 'private.key'), readFileSync(tls.keyFile), { mode: 0o600 });
  return dir;
}

export function minioBinary(): string {
  const cache = process.env.EVIDOCK_TOOLS_CACHE ?? join(homedir(), '.cache', 'evidock');
  const bin = join(cache, 'bin', 'minio');
  if (!existsSync(bin)) throw new Error(`no MinIO binary at ${bin}; run \`bash scripts/stack.sh up\` once to build or fetch it`);
  return bin;
}

/** A private MinIO (credentials as the config defaults: evidock / evidock-local-secret). */
export async function startPrivateMinio(parentDir: string, options: PrivateServiceOptions = {}): Promise<PrivateService> {
  const bin = minioBinary();
  const dir = resolve(parentDir, 'private-minio');
  const data = join(dir, 'data');
  const logFile = join(dir, 'minio.log');
  mkdirSync(data, { recursive: true });
  const port = options.port ?? (await freePort());
  const consolePort = await freePort();
  let child: ChildProcess | null = null;

  const service: PrivateService = {
    name: 'minio',
    port,
    dir,
    get running() {
      return child !== null && !exited(child);
    },
    async start() {
      if (service.running) return;
      const certs = options.tls ? ['--certs-dir', certsDir(options.tls)] : [];
      const proc = spawnLogged(bin, ['server', data, '--address', `${HOST}:${port}`, '--console-address', `${HOST}:${consolePort}`, '--quiet', ...certs], logFile, {
        ...process.env,
        MINIO_ROOT_USER: MINIO_USER,
        MINIO_ROOT_PASSWORD: MINIO_PASSWORD,
        MINIO_UPDATE: 'off',
        MINIO_BROWSER: 'off',
      });
      child = proc;
      const alive = () => !exited(proc);
      // live: the process answers; cluster: it has write quorum (buckets can be written).
      const scheme = options.tls ? 'https' : 'http';
      const ca = options.tls ? readFileSync(options.tls.caFile) : undefined;
      await waitFor('private MinIO', () => httpOk(`${scheme}://${HOST}:${port}/minio/health/live`, ca), alive, () => tail(logFile));
      await waitFor('private MinIO write quorum', () => httpOk(`${scheme}://${HOST}:${port}/minio/health/cluster`, ca), alive, () => tail(logFile));
    },
    async stop() {
      if (child) await terminate(child, 'private MinIO');
    },
    logTail: (lines) => tail(logFile, lines),
  };
  track({ service, kill: () => child?.kill('SIGKILL') });
  await service.start();
  return service;
}

// ---- Redis -------------------------------------------------------------------------------

/** A private Redis with AOF on, so its queues survive a stop and start. */
export async function startPrivateRedis(parentDir: string, options: PrivateServiceOptions = {}): Promise<PrivateService> {
  const dir = resolve(parentDir, options.subdir ?? 'private-redis');
  const logFile = join(dir, 'redis.log');
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  let child: ChildProcess | null = null;

  const service: PrivateService = {
    name: 'redis',
    port,
    dir,
    get running() {
      return child !== null && !exited(child);
    },
    async start() {
      if (service.running) return;
      const proc = spawnLogged(
        'redis-server',
        options.sentinel ? sentinelArgs(dir, port, options.sentinel) : [
          ...(options.tls
            ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile, '--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no']
            : ['--port', String(port)]),
          '--bind', HOST,
          '--protected-mode', 'yes',
          '--dir', dir,
          '--appendonly', 'yes',
          '--appendfsync', 'everysec',
          '--maxmemory-policy', 'noeviction',
          '--save', '',
          '--daemonize', 'no',
          ...(options.extraArgs ?? []),
        ],
        logFile,
      );
      child = proc;
      const ca = options.tls ? readFileSync(options.tls.caFile) : undefined;
      await waitFor('private Redis', () => redisPing(port, ca), () => !exited(proc), () => tail(logFile));
    },
    async stop() {
      // SIGTERM: Redis fsyncs the AOF and exits.
      if (child) await terminate(child, 'private Redis');
    },
    logTail: (lines) => tail(logFile, lines),
  };
  track({ service, kill: () => child?.kill('SIGKILL') });
  killers.set(service, () => child?.kill('SIGKILL'));
  await service.start();
  return service;
}

function sentinelArgs(dir: string, port: number, s: NonNullable<PrivateServiceOptions['sentinel']>): string[] {
  const conf = join(dir, 'sentinel.conf');
  if (!existsSync(conf)) {
    writeFileSync(
      conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${s.name} ${HOST} ${s.masterPort} ${s.quorum}`,
        `sentinel down-after-milliseconds ${s.name} ${s.downAfterMs}`,
        // A failover that stalls is retried after this long (the default is 3 minutes).
        `sentinel failover-timeout ${s.name} 10000`,
        `sentinel parallel-syncs ${s.name} 1`,
        '',
      ].join('\n'),
    );
  }
  return [conf, '--sentinel', '--daemonize', 'no'];
}

/** What redis-cli prints for one command to a private server ('' when it cannot run). */
function redisCliOut(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-h', HOST, '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
}

/** A private Redis Cluster: its nodes (masters first) and the node a test may kill. */
export interface PrivateRedisCluster {
  nodes: PrivateService[];
  /** SIGKILL one node (a crash, not a shutdown: its replica must take over). */
  kill(node: PrivateService): void;
}

const killers = new Map<PrivateService, () => void>();

/**
 * A node on each port, as masters with `replicasPerMaster` replicas each, made with
 * `redis-cli --cluster create`; a node's failure is noticed after 2 s (cluster-node-timeout).
 */
export async function startPrivateRedisCluster(parentDir: string, ports: readonly number[], replicasPerMaster = 1): Promise<PrivateRedisCluster> {
  const count = ports.length;
  const nodes: PrivateService[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startPrivateRedis(parentDir, {
        port: ports[i],
        subdir: `private-redis-cluster/n${i}`,
        // No diskless-sync delay: a replica holds its master's data within a moment of the create.
        extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendfilename', 'appendonly.aof', '--repl-diskless-sync-delay', '0'],
      }),
    );
  }
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
    { encoding: 'utf8', timeout: START_TIMEOUT_MS },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
  const state = () => redisCliOut(nodes[0]!.port, 'cluster', 'info');
  await waitFor('private Redis Cluster', async () => state().includes('cluster_state:ok'), () => true, () => state());
  // Every replica has synced with its master: a replica that never did cannot be promoted
  // ("disconnected from master for longer than allowed"), so a kill before then is no failover.
  const replication = (port: number) => redisCliOut(port, 'info', 'replication');
  const replicas = () => nodes.filter((n) => replication(n.port).includes('role:slave'));
  await waitFor(
    'private Redis Cluster replicas in sync',
    async () => {
      const r = replicas();
      return r.length === count - Math.ceil(count / (replicasPerMaster + 1)) && r.every((n) => replication(n.port).includes('master_link_status:up'));
    },
    () => true,
    () => nodes.map((n) => `${n.port}: ${replication(n.port).replace(/\r?\n/g, ' ')}`).join('\n'),
  );
  return {
    nodes,
    kill(node) {
      killers.get(node)?.();
    },
  };
}

/** A private Redis master with replicas and the Sentinels that watch them. */
export interface PrivateRedisSentinel {
  /** The master set name the Sentinels monitor. */
  name: string;
  /** The data servers: the first master at the start, then its replicas. */
  servers: PrivateService[];
  sentinels: PrivateService[];
  /** SIGKILL one server (a crash: the Sentinels must notice it and promote a replica). */
  kill(node: PrivateService): void;
}

/**
 * A master on `serverPorts[0]` with a replica on each further port (AOF on, as the stack
 * runs), and a Sentinel on each of `sentinelPorts` watching it under `name` with a quorum
 * of a majority; a master is taken as down after `downAfterMs`. Returns once every replica
 * has synced and every Sentinel knows the replicas and the other Sentinels and has its
 * quorum (SENTINEL CKQUORUM): a failover asked for earlier could find no replica to promote.
 */
export async function startPrivateRedisSentinel(
  parentDir: string,
  name: string,
  serverPorts: readonly number[],
  sentinelPorts: readonly number[],
  downAfterMs = 2000,
): Promise<PrivateRedisSentinel> {
  const [masterPort, ...replicaPorts] = serverPorts;
  if (masterPort === undefined || replicaPorts.length === 0) throw new Error('a Sentinel set needs a master and at least one replica');
  const servers: PrivateService[] = [];
  // No diskless-sync delay: a replica holds its master's data within a moment of starting.
  const common = ['--repl-diskless-sync-delay', '0'];
  servers.push(await startPrivateRedis(parentDir, { port: masterPort, subdir: 'private-redis-sentinel/s0', extraArgs: common }));
  for (const [i, port] of replicaPorts.entries()) {
    servers.push(await startPrivateRedis(parentDir, { port, subdir: `private-redis-sentinel/s${i + 1}`, extraArgs: [...common, '--replicaof', HOST, String(masterPort)] }));
  }
  await waitFor(
    'private Redis replicas in sync',
    async () => replicaPorts.every((p) => redisCliOut(p, 'info', 'replication').includes('master_link_status:up')),
    () => true,
    () => replicaPorts.map((p) => `${p}: ${redisCliOut(p, 'info', 'replication').replace(/\r?\n/g, ' ')}`).join('\n'),
  );
  const quorum = Math.floor(sentinelPorts.length / 2) + 1;
  const sentinels: PrivateService[] = [];
  for (const [i, port] of sentinelPorts.entries()) {
    sentinels.push(await startPrivateRedis(parentDir, { port, subdir: `private-redis-sentinel/sentinel${i}`, sentinel: { name, masterPort, quorum, downAfterMs } }));
  }
  // Replicas are learnt from the master's INFO (every 10 s at first), Sentinels from hello messages (every 2 s).
  const known = (port: number) =>
    redisCliOut(port, 'sentinel', 'replicas', name).split('\n').filter((l) => l.trim() === 'ip').length === replicaPorts.length &&
    redisCliOut(port, 'sentinel', 'sentinels', name).split('\n').filter((l) => l.trim() === 'ip').length === sentinelPorts.length - 1 &&
    redisCliOut(port, 'sentinel', 'ckquorum', name).startsWith('OK');
  await waitFor(
    'private Sentinels aware of the replicas and of each other',
    async () => sentinelPorts.every(known),
    () => sentinels.every((s) => s.running),
    () => sentinelPorts.map((p) => `${p}: ${redisCliOut(p, 'sentinel', 'ckquorum', name).trim()}`).join('\n'),
  );
  return {
    name,
    servers,
    sentinels,
    kill(node) {
      killers.get(node)?.();
    },
  };
}

// ---- PostgreSQL --------------------------------------------------------------------------

/** Server binaries of the highest installed PostgreSQL (Debian layout). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(`no PostgreSQL server binaries under ${root}/*/bin`);
  return join(root, versions[0], 'bin');
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL tool as the postgres OS user when we are root (postgres refuses root). */
function asPostgres(command: string, args: string[]): { status: number | null; output: string } {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: START_TIMEOUT_MS });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Same, without blocking the event loop (pg_ctl start/stop take a while). */
function asPostgresAsync(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return new Promise((r) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    child.on('error', (e) => r({ status: null, output: `${output}${String(e)}` }));
    child.on('close', (status) => r({ status, output }));
  });
}

function postgresUid(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('no postgres OS user (install the postgresql package)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The postgres user must reach the data directory through every parent. */
function assertTraversable(path: string, ownedRoot: string): void {
  if (!isRoot()) return;
  for (let d = dirname(path); d !== dirname(d); d = dirname(d)) {
    if (spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', d]).status === 0) continue;
    // Only directories of this test are ours to open up.
    if (d === ownedRoot || d.startsWith(`${ownedRoot}/`)) chmodSync(d, statSync(d).mode | 0o001);
    else throw new Error(`the postgres user cannot enter ${d} (needed for ${path}); chmod o+x it`);
  }
}

/**
 * A private PostgreSQL cluster: initdb'd on first start with trust auth on loopback TCP
 * only, with role `evidock` (LOGIN CREATEDB) and database `evidock` owned by it.
 */
export async function startPrivatePostgres(parentDir: string, options: PrivateServiceOptions = {}): Promise<PrivateService> {
  const bindir = postgresBinDir();
  const dir = resolve(parentDir, 'private-pg');
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const { uid, gid } = postgresUid();
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  assertTraversable(dir, resolve(parentDir));
  const port = options.port ?? (await freePort());

  const init = asPostgres(join(bindir, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--auth=trust', '--locale=C', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.output}`);
  // Written by us as root, read by the server as postgres: the file must be readable by it.
  const conf = join(data, 'postgresql.conf');
  writeFileSync(
    conf,
    `${readFileSync(conf, 'utf8')}\n# private test server\nlisten_addresses = '${HOST}'\nport = ${port}\nunix_socket_directories = ''\nfsync = off\nmax_connections = 100\n`,
  );
  if (options.tls) {
    // TLS only: the certificate in the data directory (the server wants its key private),
    // and every TCP client must use SSL (hostssl).
    const { uid, gid } = isRoot() ? postgresUid() : { uid: -1, gid: -1 };
    for (const [from, name, mode] of [[options.tls.certFile, 'server.crt', 0o644], [options.tls.keyFile, 'server.key', 0o600]] as const) {
      const to = join(data, name);
      writeFileSync(to, readFileSync(from), { mode });
      if (isRoot()) chownSync(to, uid, gid);
    }
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n`);
    const hba = join(data, 'pg_hba.conf');
    writeFileSync(hba, readFileSync(hba, 'utf8').replace(/^host(\s)/gm, 'hostssl$1'));
  }
  const clientSsl = options.tls ? { ssl: { ca: readFileSync(options.tls.caFile, 'utf8') } } : {};

  const postmasterPid = (): number | null => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  };
  const alive = (): boolean => {
    const pid = postmasterPid();
    if (pid === null) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const ready = async (): Promise<boolean> => {
    const client = new pg.Client({ host: HOST, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000, ...clientSsl });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const service: PrivateService = {
    name: 'postgres',
    port,
    dir,
    get running() {
      return alive();
    },
    async start() {
      if (alive()) return;
      const r = await asPostgresAsync(join(bindir, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', String(START_TIMEOUT_MS / 1000), 'start']);
      if (r.status !== 0) throw new Error(`pg_ctl start failed:\n${r.output}\n${tail(logFile)}`);
      await waitFor('private PostgreSQL', ready, () => true, () => tail(logFile));
    },
    async stop() {
      if (!alive()) return;
      // fast: roll back open transactions, terminate sessions, checkpoint, exit.
      const r = await asPostgresAsync(join(bindir, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', String(STOP_TIMEOUT_MS / 1000), 'stop']);
      if (r.status !== 0 && alive()) throw new Error(`pg_ctl stop failed:\n${r.output}\n${tail(logFile)}`);
    },
    logTail: (lines) => tail(logFile, lines),
  };
  track({
    service,
    kill: () => {
      const pid = postmasterPid();
      // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its children down.
      if (pid !== null && alive()) process.kill(pid, 'SIGQUIT');
    },
  });

  await service.start();
  const admin = new pg.Client({ host: HOST, port, user: 'postgres', database: 'postgres', ...clientSsl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query('CREATE ROLE evidock LOGIN CREATEDB');
    await admin.query('CREATE DATABASE evidock OWNER evidock');
  } finally {
    await admin.end();
  }
  return service;
}
