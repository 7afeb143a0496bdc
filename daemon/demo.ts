import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EvidockConfig } from '../config/config.schema.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { DEVICE_QUEUES, QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { everyRecordingStored, importFolder, printSessionResult } from './cli.ts';
import { formatBytes, mediaProblemText, t } from './i18n.ts';
import { createRuntime, initLogging, type Runtime } from './runtime.ts';

const DEMO_SERIAL = 'ZFY-DEMO-0001';
const DEMO_OFFICER = '004512';

/**
 * `npm run demo`: a recorder's worth of real footage made with ffmpeg, docked as a folder,
 * ingested through the real pipeline on the local stack, then verified.
 */
export async function runDemo(config: EvidockConfig, options: { files: number; seconds: number }): Promise<number> {
  initLogging(config, true);
  // The generated recorder's clock runs on this machine's time zone (the generator writes
  // local times into file names), so read them in that zone.
  config.ingest.recorderTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dir = join(config.dataDir, 'demo', `recorder-${stamp}`);
  mkdirSync(dir, { recursive: true });
  process.stdout.write(`${t('demo.generating', { dir })}\n`);
  // Recorded during the last hour, as after a shift.
  const start = new Date(Date.now() - 3600_000);
  await makeRecorderFootage(dir, { files: options.files, seconds: options.seconds, serial: DEMO_SERIAL, officer: DEMO_OFFICER, start });

  const caseNumber = `YB-DEMO-${stamp}`;
  const rt = await createRuntime(config);
  // Every queue, so the demo also shows the media workers (a daemon, if one runs, shares them).
  rt.startWorkers([...DEVICE_QUEUES, ...SHARED_QUEUES]);
  try {
    const { session, outcomes } = await importFolder(rt, dir, {
      serial: DEMO_SERIAL,
      officer: DEMO_OFFICER,
      case: [caseNumber],
      subject: config.locale === 'en' ? 'Pharmacy inspection (demo)' : '某药房现场检查（演示）',
      place: config.locale === 'en' ? 'Demo City, Demo District' : '演示市演示区',
    });
    printSessionResult(session, outcomes);

    const found = await rt.evidence.search({ caseNumber });
    process.stdout.write(`\n${t('demo.media')}\n`);
    if (!(await mediaSettled(rt, found.map((e) => e.id), 600_000))) process.stdout.write(`${t('demo.mediaTimeout')}\n`);
    for (const e of await rt.evidence.search({ caseNumber })) {
      const made = (await rt.catalog.derivativesOf(e.id)).map((d) => `${d.kind} ${formatBytes(d.size)}${d.partial ? ' [partial]' : ''}`);
      const problem = e.media.problem ? `  ${mediaProblemText(e.media.status, e.media.problem)}` : '';
      process.stdout.write(`  ${e.id.slice(0, 8)}  ${e.media.status}  ${made.join(', ') || '-'}${problem}\n`);
    }
    process.stdout.write(`\n${t('demo.verify')}\n`);
    let ok = everyRecordingStored(outcomes);
    for (const o of outcomes) {
      const f = o.handler ?? o.file;
      if (!f.evidenceId) continue;
      const report = await rt.verify.run({ evidenceId: f.evidenceId, rehash: true });
      for (const item of report.items) if (!item.ok) process.stdout.write(`  ${item.evidenceId}: ${item.problems.join('; ')}\n`);
      ok &&= report.ok;
    }
    // After the media jobs: nothing appends to the ledger while it is checked.
    const ledger = await rt.ledger.verify();
    for (const p of ledger.problems) process.stdout.write(`  #${p.seq} ${p.kind}: ${p.detail}\n`);
    ok &&= ledger.problems.length === 0;
    if (ok) process.stdout.write(`${t('verify.ok', { events: ledger.events, treeSize: ledger.treeSize, checkpoints: ledger.checkpoints, items: found.length })}\n`);
    else process.stdout.write(`${t('verify.failed', { count: ledger.problems.length })}\n`);
    process.stdout.write(`\n  npx evidock search --case ${caseNumber}\n  npx evidock show ${found[0]?.id.slice(0, 8) ?? '<id>'}\n  npx evidock verify --all\n`);
    return ok ? 0 : 1;
  } finally {
    await rt.close();
  }
}

/** Until every item has left `pending` and the media queues hold nothing for it, or the time is up. */
async function mediaSettled(rt: Runtime, ids: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await rt.queue.counts();
    const busy = counts
      .filter((c) => c.queue === QueueName.Metadata || c.queue === QueueName.Transcode)
      .reduce((n, c) => n + (c.counts.waiting ?? 0) + (c.counts.active ?? 0) + (c.counts.delayed ?? 0) + (c.counts.prioritized ?? 0), 0);
    const items = await Promise.all(ids.map((id) => rt.evidence.find(id)));
    if (busy === 0 && items.every((e) => e.media.status !== 'pending')) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
