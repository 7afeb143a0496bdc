import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { createTestEnv, eventually, isRunning, type TestEnv } from './support/test-env.ts';

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exit ${code}`))));
  });
}

function childrenOf(pid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Node children of this process running a BullMQ sandboxed processor. */
function sandboxChildren(): number[] {
  return childrenOf(process.pid)
    .filter((line) => /bullmq/.test(line) && /main/.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('sandboxed transcoding', () => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    env = await createTestEnv('sandbox', { media: { proxyPreset: 'fast', proxyCrf: 23, transcodeConcurrency: 1 } });
    rt = await env.runtime();
  });
  afterAll(async () => env?.cleanup());

  it('a transcode process that dies takes only its job down; the job is retried and the worker goes on', async () => {
    const dir = join(env.dir, 'recorder');
    mkdirSync(dir, { recursive: true });
    // Long enough at preset fast that the proxy is still running when its process is killed.
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', join(dir, 'ZFYS_01_20261121120000_0001.MP4')]);
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    const { files } = await importFolder(rt, dir, { serial: 'SANDBOX-1', clear: false, json: true });
    const evidenceId = files[0]!.evidenceId!;

    // Wait until ffmpeg is transcoding (progress reported), then kill the process running it,
    // as a crash of ffmpeg's host process or a sharp segfault would.
    await eventually(
      async () => ((await rt.queue.active()).some((j) => j.name === 'proxy' && ((j.progress as { percent?: number })?.percent ?? 0) > 0) ? true : undefined),
      120_000,
      'the proxy to be transcoding',
    );
    // The sandbox running the proxy's ffmpeg (H.264 encode), not one making thumbnails beside it.
    const child = sandboxChildren().find((pid) => childrenOf(pid).some((line) => line.includes('ffmpeg') && line.includes('libx264')));
    expect(child).toBeDefined();
    const orphans = childrenOf(child!).filter((line) => line.includes('ffmpeg'));
    expect(orphans).toHaveLength(1);
    const ffmpegPid = Number(orphans[0]!.trim().split(/\s+/)[0]);
    process.kill(child!, 'SIGKILL');
    // ffmpeg loses its progress pipe with its parent and dies too, instead of burning a core.
    await eventually(async () => (isRunning(ffmpegPid) ? undefined : true), 30_000, 'the orphaned ffmpeg to exit');

    const proxy = await eventually(
      async () => (await rt.catalog.derivativesOf(evidenceId)).find((d) => d.kind === 'proxy'),
      300_000,
      'the retried proxy',
    );
    expect(proxy.partial).toBe(false);
    // The derivative is recorded a moment before its job reports completion.
    const job = await eventually(async () => {
      const j = await rt.queue.queue(QueueName.Transcode).getJob(`proxy-${evidenceId}`);
      return (await j?.getState()) === 'completed' ? j : undefined;
    }, 60_000, 'the proxy job to complete');
    // A real second attempt: the killed one failed (its error is kept), the next one completed.
    // (attemptsMade counts the successful attempt too, so 1 would mean "no retry".)
    expect(job.attemptsMade).toBe(2);
    expect(job.attemptsStarted).toBe(2);
    expect(job.stacktrace).toHaveLength(1);
    expect(job.stacktrace![0]).toMatch(/exit|killed|SIGKILL|signal/i);
    // The worker survived: thumbnails, queued beside the proxy, were made too.
    await eventually(async () => ((await rt.catalog.derivativesOf(evidenceId)).some((d) => d.kind === 'storyboard') ? true : undefined), 120_000, 'thumbnails');
    const item = await rt.catalog.getEvidence(evidenceId);
    expect(item?.media.status).toBe('ok');
  }, 600_000);
});

describe('a worker process killed outright', () => {
  let env: TestEnv;
  let rt: Runtime;
  const spawned: Array<ReturnType<typeof spawn>> = [];

  beforeAll(async () => {
    env = await createTestEnv('sandboxorphan', { media: { proxyPreset: 'fast', proxyCrf: 23, transcodeConcurrency: 1 } });
    rt = await env.runtime();
  });
  afterAll(async () => {
    for (const child of spawned) child.kill('SIGKILL');
    await env?.cleanup();
  });

  it('takes its transcode process and ffmpeg with it, instead of leaving them running', async () => {
    const dir = join(env.dir, 'recorder');
    mkdirSync(dir, { recursive: true });
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', join(dir, 'ZFYS_02_20261121120000_0001.MP4')]);
    // This process serves the device queues; a separate `evidock workers` host serves media.
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, QueueName.Catalog]);
    const workers = spawn(process.execPath, [join(REPO_ROOT, 'bin/evidock.js'), 'workers'], { env: { ...process.env, ...env.childEnv }, stdio: 'ignore' });
    spawned.push(workers);
    await importFolder(rt, dir, { serial: 'SANDBOX-2', clear: false, json: true });

    await eventually(
      async () => ((await rt.queue.active()).some((j) => j.name === 'proxy' && ((j.progress as { percent?: number })?.percent ?? 0) > 0) ? true : undefined),
      120_000,
      'the proxy to be transcoding on the worker host',
    );
    const sandbox = childrenOf(workers.pid!)
      .filter((line) => /bullmq/.test(line) && /main/.test(line))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(sandbox.length).toBeGreaterThan(0);
    const ffmpegs = sandbox.flatMap((pid) => childrenOf(pid).filter((line) => line.includes('ffmpeg')).map((line) => Number(line.trim().split(/\s+/)[0])));
    expect(ffmpegs).toHaveLength(1);

    workers.kill('SIGKILL');
    // The children notice their parent is gone and exit; nothing is left burning CPU.
    for (const pid of [...sandbox, ...ffmpegs]) await eventually(async () => (isRunning(pid) ? undefined : true), 30_000, `process ${pid} to exit after its parent`);
  }, 300_000);
});
