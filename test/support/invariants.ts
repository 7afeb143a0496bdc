import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Runtime } from '../../daemon/runtime.ts';
import type { CustodyEvent } from '../../storage/custody-chain.ts';
import { originalKey } from '../../storage/object-store.ts';

/**
 * "Nothing was lost": the invariants every fault and attack of the chaos suite is checked
 * against, read from the product's own records (catalog, ledger, object store, queues) and
 * from the recorder folders the suite made. Each check counts what it found, so the suite
 * can both assert on it (tests) and publish it (scripts/chaos.ts → docs/reliability.md).
 */

/** One recording the suite put on a recorder, with the hash of its bytes as written. */
export interface SourceFile {
  /** Absolute path on the recorder folder (to see whether it was cleared); bytes when not UTF-8. */
  path: string | Buffer;
  sha256: string;
  size: number;
}

export interface InvariantReport {
  sources: number;
  /** Distinct contents among the sources (a duplicated recording is stored once). */
  distinct: number;
  /** Contents with no catalogued, stored copy whose bytes hash to the source's SHA-256. */
  filesLost: number;
  /** Contents catalogued more than once, or uploaded as more than one object version. */
  duplicates: number;
  /** Stored copies whose bytes (re-hashed) differ from the source. */
  shaMismatches: number;
  /** Recordings gone from a recorder without a VERIFIED stored copy before the clear. */
  unverifiedClears: number;
  /** `evidock verify` (ledger chain, signatures, mirror, catalog, originals) found nothing. */
  ledgerOk: boolean;
  /** Jobs still waiting, active, delayed or failed in any queue of this env. */
  stuckJobs: number;
  /** Human-readable findings, empty when all hold. */
  problems: string[];
}

export const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export function sha256OfFile(path: string | Buffer): string {
  return sha256Of(readFileSync(path));
}

export interface InvariantOptions {
  /** Re-hash every stored original (the full read-back of `evidock verify --all`). */
  rehash?: boolean;
  /** Failed jobs that are expected (hostile input): not counted as stuck. */
  allowFailedJobs?: boolean;
}

/**
 * Object versions of each key, listed key by key. A versioned listing of the whole prefix
 * failed with SignatureDoesNotMatch once it held about 2,000 objects (the hostile run's
 * tiny files; presumably on a later page), and per-key listings stay small.
 */
async function versionsPerKey(rt: Runtime, keys: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const bucket = rt.objects.bucketName('originals');
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      let n = 0;
      for await (const item of rt.objects.rawClient.listObjects(bucket, key, false, { IncludeVersion: true })) {
        const entry = item as { name?: string; isDeleteMarker?: boolean };
        if (entry.name === key && !entry.isDeleteMarker) n++;
      }
      if (n > 0) counts.set(key, n);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return counts;
}

async function readHash(rt: Runtime, key: string): Promise<string | null> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of (await rt.objects.read('originals', key)) as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

/** Checks every invariant; never throws for a violation (it is counted and described). */
export async function checkInvariants(rt: Runtime, sources: readonly SourceFile[], options: InvariantOptions = {}): Promise<InvariantReport> {
  const problems: string[] = [];
  const distinct = new Map<string, SourceFile[]>();
  for (const s of sources) distinct.set(s.sha256, [...(distinct.get(s.sha256) ?? []), s]);

  const evidence = await rt.db.query<{ sha256: string; n: string }>('SELECT sha256, count(*) AS n FROM evidence GROUP BY sha256');
  const evidenceCount = new Map(evidence.rows.map((r) => [r.sha256, Number(r.n)]));
  // Every key the invariants look at: the sources' and the verified hashes of cleared files.
  const cleared = await rt.db.query<{ sha: string }>(`SELECT DISTINCT details->>'sha256' AS sha FROM custody_events WHERE type = 'VERIFIED'`);
  const versions = await versionsPerKey(rt, [...new Set([...distinct.keys(), ...cleared.rows.map((r) => r.sha)])].map(originalKey));

  let filesLost = 0;
  let duplicates = 0;
  let shaMismatches = 0;
  for (const [sha, files] of distinct) {
    const key = originalKey(sha);
    const rows = evidenceCount.get(sha) ?? 0;
    const objectVersions = versions.get(key) ?? 0;
    const stat = await rt.objects.stat('originals', key);
    if (rows === 0 || objectVersions === 0 || !stat) {
      filesLost++;
      problems.push(`lost: ${String(files[0]!.path)} (sha256 ${sha.slice(0, 12)}…): catalog rows ${rows}, object versions ${objectVersions}`);
      continue;
    }
    if (rows > 1 || objectVersions > 1) {
      duplicates++;
      problems.push(`duplicate: ${String(files[0]!.path)}: catalog rows ${rows}, object versions ${objectVersions}`);
    }
    if (stat.size !== files[0]!.size) {
      shaMismatches++;
      problems.push(`size: ${String(files[0]!.path)}: stored ${stat.size}, source ${files[0]!.size}`);
    } else if (options.rehash) {
      const actual = await readHash(rt, key);
      if (actual !== sha) {
        shaMismatches++;
        problems.push(`sha256: ${String(files[0]!.path)}: stored bytes hash to ${actual}, source ${sha}`);
      }
    }
  }

  // No clear without a verified copy, from the ledger: every RECORDER_CLEARED follows a
  // VERIFIED of the same file whose hash is the file's acquired hash and whose object exists.
  const all = await rt.db.query<{ seq: string; type: string; file_id: string | null; details: Record<string, unknown> }>(
    `SELECT seq, type, file_id, details FROM custody_events WHERE type IN ('ACQUIRED', 'VERIFIED', 'RECORDER_CLEARED') ORDER BY seq`,
  );
  const verifiedBefore = new Map<string, string>();
  const acquired = new Map<string, string>();
  let unverifiedClears = 0;
  for (const e of all.rows) {
    if (!e.file_id) continue;
    if (e.type === 'ACQUIRED') acquired.set(e.file_id, String(e.details.sha256));
    if (e.type === 'VERIFIED') verifiedBefore.set(e.file_id, String(e.details.sha256));
    if (e.type === 'RECORDER_CLEARED') {
      const verified = verifiedBefore.get(e.file_id);
      if (!verified || verified !== acquired.get(e.file_id) || !versions.has(originalKey(verified))) {
        unverifiedClears++;
        problems.push(`unverified clear: ledger #${e.seq} file ${e.file_id} (verified ${verified ?? 'never'})`);
      }
    }
  }
  // And from the recorders: a recording that is gone must have a stored copy of its bytes.
  for (const s of sources) {
    if (existsSync(s.path)) continue;
    if (!versions.has(originalKey(s.sha256)) || (evidenceCount.get(s.sha256) ?? 0) === 0) {
      unverifiedClears++;
      problems.push(`cleared without a stored copy: ${String(s.path)}`);
    }
  }

  await rt.ledger.mirrorPending().catch(() => undefined);
  const report = await rt.verify.run({ rehash: false });
  const ledgerOk = report.ok;
  if (!ledgerOk) {
    for (const p of report.ledger.problems) problems.push(`verify: ledger #${p.seq ?? '-'} ${p.kind}: ${p.detail}`);
    for (const i of report.items) for (const p of i.problems) problems.push(`verify: ${i.evidenceId}: ${p}`);
  }

  let stuckJobs = 0;
  for (const q of await rt.queue.counts()) {
    const c = q.counts;
    const open = (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0);
    if (open > 0) {
      stuckJobs += open;
      problems.push(`jobs: ${q.queue} ${JSON.stringify(c)}`);
    }
  }
  if (!options.allowFailedJobs) {
    for (const job of await rt.queue.failed(10_000)) {
      // A media job whose input cannot be decoded ends failed for good by design
      // (UnrecoverableError "unplayable: …", the item marked unplayable with a MEDIA_PROBLEM
      // event): a finished outcome, not a stuck job. Random-byte "recordings" mostly fail in
      // ffprobe, but now and then ffprobe takes them for a stream and ffmpeg fails instead.
      if (job.reason.startsWith('unplayable: ') && 'evidenceId' in job.data) {
        const status = await rt.db.query<{ media_status: string }>('SELECT media_status FROM evidence WHERE id = $1', [job.data.evidenceId]);
        if (status.rows[0]?.media_status === 'unplayable') continue;
      }
      stuckJobs++;
      problems.push(`failed job: ${job.queue} ${job.name} ${job.id}: ${job.reason}`);
    }
  }
  return { sources: sources.length, distinct: distinct.size, filesLost, duplicates, shaMismatches, unverifiedClears, ledgerOk, stuckJobs, problems };
}

/** True when every invariant holds. */
export function intact(r: InvariantReport): boolean {
  return r.filesLost === 0 && r.duplicates === 0 && r.shaMismatches === 0 && r.unverifiedClears === 0 && r.ledgerOk && r.stuckJobs === 0;
}

/** RECORDER_CLEARED events of these files, for checks that a fault did not clear early. */
export function clearedFiles(events: readonly CustodyEvent[]): Set<string> {
  return new Set(events.filter((e) => e.type === 'RECORDER_CLEARED' && e.fileId).map((e) => e.fileId!));
}
