import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { apiScenario } from './support/api-chaos.ts';
import { cleanupDir, dockingScenario, killScenario, preservationScenario, rebuildScenario, secretsScenario, spoolFullScenario, tamperScenario, type ChaosContext, type ScenarioRow } from './support/chaos-scenarios.ts';

/**
 * The short subset of the chaos suite (`npm run chaos` runs all of it and writes
 * docs/reliability.md): a few SIGKILLs of real daemon and worker processes, the spool disk
 * filling up, the tamper pass and the secrets grep. Each scenario returns the same row the
 * report publishes; these tests assert on its counts.
 */

const ctx: ChaosContext = { seed: 4242, quick: true, log: () => undefined };
const template = resolve(REPO_ROOT, 'var', 'chaos', 'quick-test-template');

function expectNothingLost(r: ScenarioRow): void {
  expect(r.notes.filter((n) => n.startsWith('scenario error'))).toEqual([]);
  expect({ filesLost: r.filesLost, duplicates: r.duplicates, unverifiedClears: r.unverifiedClears, shaMismatches: r.shaMismatches, stuckJobs: r.stuckJobs }).toEqual({
    filesLost: 0,
    duplicates: 0,
    unverifiedClears: 0,
    shaMismatches: 0,
    stuckJobs: 0,
  });
  expect(r.ok, r.notes.join('\n')).toBe(true);
}

describe('chaos (quick subset)', () => {
  afterAll(() => cleanupDir(template));

  it('SIGKILL of the daemon while acquiring and of the workers while recording: restarted, nothing lost', async () => {
    // A fast pipeline can pass a point between two polls; minKills runs up to 3 more rounds
    // until both kills have landed.
    const r = await killScenario(ctx, { rounds: 1, points: ['acquire', 'record'], bigFiles: 3, bigBytes: 24 << 20, templateDir: template, minKills: 2 });
    // The kills must have landed mid-pipeline, or this would prove nothing.
    expect(r.tries).toBeGreaterThanOrEqual(2);
    expectNothingLost(r);
  }, 240_000);

  it('a full spool disk pauses acquisition with SPOOL_FULL and resumes as uploads free it', async () => {
    const r = await spoolFullScenario(ctx, 1);
    expect(r.tries).toBe(1);
    expect(r.notes.some((n) => /[1-9]\d* SPOOL_FULL alarm/.test(n)), r.notes.join('\n')).toBe(true);
    expectNothingLost(r);
  }, 240_000);

  it('the same recorder docked twice at once is copied once: the second docking skips what the first is ingesting', async () => {
    const r = await dockingScenario(ctx, 'twice', 1);
    expect(r.notes.some((n) => / 3 copies read from recorders for 3 recordings/.test(n)), r.notes.join('\n')).toBe(true);
    expectNothingLost(r);
  }, 240_000);

  it('every tampering is named by verify and deleting a locked original is refused', async () => {
    const r = await tamperScenario(ctx);
    expect(r.notes.filter((n) => n.startsWith('scenario error'))).toEqual([]);
    expect(r.tries).toBe(5);
    expect(r.detected).toBe(5);
    expect(r.ok, r.notes.join('\n')).toBe(true);
  }, 240_000);

  it('a SIGKILLed export leaves no bag and no EXPORTED event; a SIGKILLed purge deletes nothing without its PURGED event and finishes when run again', async () => {
    const r = await preservationScenario(ctx, 1);
    expect(r.notes.filter((n) => n.startsWith('scenario error'))).toEqual([]);
    expect(r.tries).toBe(2);
    expect(r.detected).toBe(2);
    expect(r.ok, r.notes.join('\n')).toBe(true);
  }, 400_000);

  it('a SIGKILLed fixity host resumes its cycle checking every item once; a SIGKILLed reindex leaves an empty database and the rerun rebuilds it', async () => {
    const r = await rebuildScenario(ctx, 1);
    expect(r.notes.filter((n) => n.startsWith('scenario error'))).toEqual([]);
    expect(r.tries).toBe(2);
    expect(r.detected).toBe(2);
    expect(r.ok, r.notes.join('\n')).toBe(true);
  }, 600_000);

  it('no secret reaches a log, stdout or stderr, and a world-readable config with secrets is refused', async () => {
    const r = await secretsScenario(ctx);
    expect(r.notes.filter((n) => n.startsWith('scenario error') || n.startsWith('leaked'))).toEqual([]);
    expect(r.detected).toBe(2);
    expect(r.ok, r.notes.join('\n')).toBe(true);
  }, 240_000);

  it('the archive server: SIGKILL mid-upload and mid-delivery lose and duplicate nothing, the lockout holds, no secret in its log', async () => {
    const rows = await apiScenario(ctx);
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r.notes.filter((n) => n.startsWith('scenario error')), r.fault).toEqual([]);
      expect(r.tries, r.fault).toBeGreaterThan(0);
      expect(r.ok, `${r.fault}: ${r.notes.join('\n')}`).toBe(true);
    }
  }, 300_000);
});
