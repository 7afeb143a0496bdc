import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EvidockConfig } from '../config/config.schema.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { importFolder, printSessionResult } from './cli.ts';
import { t } from './i18n.ts';
import { createRuntime, initLogging } from './runtime.ts';

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

  const caseNumber = `YB-DEMO-${stamp.slice(0, 8)}`;
  const rt = await createRuntime(config);
  try {
    const { session, files } = await importFolder(rt, dir, {
      serial: DEMO_SERIAL,
      officer: DEMO_OFFICER,
      case: [caseNumber],
      subject: config.locale === 'en' ? 'Pharmacy inspection (demo)' : '某药房现场检查（演示）',
      place: config.locale === 'en' ? 'Demo City, Demo District' : '演示市演示区',
    });
    printSessionResult(session, files);

    process.stdout.write(`\n${t('demo.verify')}\n`);
    let ok = files.every((f) => f.stage === 'cleared' || f.stage === 'kept');
    for (const f of files) {
      if (!f.evidenceId) continue;
      const report = await rt.verify.run({ evidenceId: f.evidenceId, rehash: true });
      for (const item of report.items) if (!item.ok) process.stdout.write(`  ${item.evidenceId}: ${item.problems.join('; ')}\n`);
      ok &&= report.ok;
    }
    const ledger = await rt.ledger.verify();
    ok &&= ledger.problems.length === 0;
    const found = await rt.evidence.search({ caseNumber });
    if (ok) process.stdout.write(`${t('verify.ok', { events: ledger.events, items: found.length })}\n`);
    else process.stdout.write(`${t('verify.failed', { count: ledger.problems.length })}\n`);
    process.stdout.write(`\n  npx evidock search --case ${caseNumber}\n  npx evidock show ${found[0]?.id.slice(0, 8) ?? '<id>'}\n  npx evidock verify --all\n`);
    return ok ? 0 : 1;
  } finally {
    await rt.close();
  }
}
