import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { moduleLogger } from '../config/logger.ts';
import type { DerivativeRow, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import type { BucketRole } from '../storage/object-store.ts';

const log = moduleLogger('case-export');

/** A case with no evidence: an expected miss the operator is told about. */
export class CaseNotFoundError extends Error {
  constructor(readonly caseNumber: string) {
    super(`no evidence with case number ${caseNumber}`);
    this.name = 'CaseNotFoundError';
  }
}

/** The bytes read back from storage are not the evidence: the export stops, nothing is recorded as exported. */
export class ExportIntegrityError extends Error {
  constructor(readonly evidenceId: string, detail: string) {
    super(`evidence ${evidenceId}: ${detail}`);
    this.name = 'ExportIntegrityError';
  }
}

export interface ExportTarget {
  readonly root: string;
  writeStream(relPath: string, source: Readable): Promise<{ sha256: string; size: number }>;
  writeText(relPath: string, text: string): Promise<void>;
}

export interface CaseExportDeps {
  workstationId: string;
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  catalog: { search(filter: SearchFilter): Promise<EvidenceRow[]>; derivativesOf(evidenceId: string): Promise<DerivativeRow[]> };
  ledger: {
    eventsFor(filter: { evidenceId: string }): Promise<CustodyEvent[]>;
    publicKeys(): Promise<Array<{ keyId: string; workstationId: string; publicKeyPem: string }>>;
    append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent>;
    mirror(events: readonly CustodyEvent[]): Promise<void>;
  };
  objects: { read(role: BucketRole, key: string): Promise<Readable> };
  now?: () => Date;
}

export interface CaseExportRequest {
  caseNumber: string;
  by: string;
  reason: string | null;
  /** Add the playback proxies (the legal office watches those; the originals are the evidence). */
  withProxies: boolean;
  /** Where the copy goes, for the EXPORTED events (default: the target folder). */
  destination?: string;
  /** The approval each item was exported under, when one was needed. */
  approvals?: ReadonlyMap<string, string | null>;
}

export interface CaseExportResult {
  exportId: string;
  caseNumber: string;
  root: string;
  items: Array<{ evidenceId: string; file: string; sha256: string; size: number }>;
  proxies: number;
  events: number;
}

/**
 * A case's evidence package for archiving with the case file (归档) and for legal review
 * (法制审核): every original of the case, read back from write-once storage and checked
 * against its recorded SHA-256, its five required fields, its whole chain of custody with
 * the signatures and the public keys to check them, and SHA256SUMS for `sha256sum -c`.
 * Copying evidence must be logged, so each item gets an EXPORTED custody event — written
 * only once the package is complete.
 */
export class CaseExportService {
  private readonly now: () => Date;

  constructor(private readonly deps: CaseExportDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async export(request: CaseExportRequest, target: ExportTarget): Promise<CaseExportResult> {
    const { catalog, ledger, objects } = this.deps;
    const items = await catalog.search({ caseNumber: request.caseNumber, limit: 10_000 });
    if (items.length === 0) throw new CaseNotFoundError(request.caseNumber);
    items.sort((a, b) => (a.captureStart?.getTime() ?? 0) - (b.captureStart?.getTime() ?? 0) || a.id.localeCompare(b.id));
    const exportId = randomUUID();
    const elog = log.child({ exportId, caseNumber: request.caseNumber });

    const written: CaseExportResult['items'] = [];
    const manifestItems: JsonValue[] = [];
    let proxies = 0;
    for (const e of items) {
      const file = `originals/${e.id}${safeExtension(e.originalName)}`;
      const copy = await target.writeStream(file, await objects.read('originals', e.objectKey));
      if (copy.sha256 !== e.sha256 || copy.size !== e.size) {
        throw new ExportIntegrityError(e.id, `storage returned ${copy.size} bytes with SHA-256 ${copy.sha256}, the catalog says ${e.size} bytes ${e.sha256}`);
      }
      written.push({ evidenceId: e.id, file, sha256: copy.sha256, size: copy.size });
      const derived: JsonValue[] = [];
      if (request.withProxies) {
        for (const d of latestPerKind(await catalog.derivativesOf(e.id)).filter((x) => x.kind === 'proxy')) {
          const proxyFile = `proxies/${e.id}${safeExtension(d.objectKey)}`;
          const out = await target.writeStream(proxyFile, await objects.read('derivatives', d.objectKey));
          if (out.sha256 !== d.sha256) throw new ExportIntegrityError(e.id, `proxy ${d.objectKey} does not hash to its recorded ${d.sha256}`);
          derived.push({ kind: d.kind, file: proxyFile, sha256: out.sha256, size: out.size, partial: d.partial, tool: `${d.tool} ${d.toolVersion}` });
          proxies++;
        }
      }
      const events = await ledger.eventsFor({ evidenceId: e.id });
      manifestItems.push({
        evidenceId: e.id,
        file,
        sha256: e.sha256,
        sm3: e.sm3,
        size: e.size,
        mediaType: e.mediaType,
        caseNumbers: e.caseNumbers,
        captureStart: e.captureStart?.toISOString() ?? null,
        captureEnd: e.captureEnd?.toISOString() ?? null,
        place: e.place,
        collector: e.officerId,
        collectorName: e.officerName,
        subject: e.subject,
        recorderSerial: e.recorderSerial,
        originalName: e.originalName,
        originalPath: e.originalPath,
        storedAs: e.objectKey,
        verifiedAt: e.verifiedAt.toISOString(),
        transferDelaySeconds: e.transferDelaySeconds,
        transferLate: e.transferLate,
        flags: e.flags,
        derivatives: derived,
        custody: events as unknown as JsonValue[],
      });
      elog.info({ evidenceId: e.id }, 'exported');
    }

    const manifest = {
      format: 'evidock-case-export/1',
      exportId,
      caseNumber: request.caseNumber,
      exportedAt: this.now().toISOString(),
      exportedBy: request.by,
      reason: request.reason,
      workstationId: this.deps.workstationId,
      // A copy, not the record: the originals stay in write-once storage (复制件).
      copy: true,
      signatures: {
        scheme: 'each custody event: hash = SHA-256 of its body (all fields but hash and signature) as canonical JSON with sorted keys; signature = Ed25519 over the 32 hash bytes, base64',
        keys: (await ledger.publicKeys()) as unknown as JsonValue,
      },
      items: manifestItems,
    };
    await target.writeText('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    const sums = [
      ...written.map((w) => `${w.sha256}  ${w.file}`),
      ...(manifestItems as Array<{ derivatives: Array<{ sha256: string; file: string }> }>).flatMap((m) => m.derivatives.map((d) => `${d.sha256}  ${d.file}`)),
    ];
    await target.writeText('SHA256SUMS', `${sums.join('\n')}\n`);
    await target.writeText('README.txt', readme(request.caseNumber, items.length, manifest.exportedAt));

    const actor = { kind: 'user' as const, id: request.by };
    const events = await this.deps.db.transaction(async (tx) => {
      const out: CustodyEvent[] = [];
      for (const w of written) {
        out.push(
          await ledger.append(tx, {
            type: 'EXPORTED',
            actor,
            evidenceId: w.evidenceId,
            details: {
              exportId,
              caseNumber: request.caseNumber,
              reason: request.reason,
              destination: request.destination ?? target.root,
              file: w.file,
              sha256: w.sha256,
              withProxies: request.withProxies,
              ...(request.approvals?.get(w.evidenceId) ? { approvalId: request.approvals.get(w.evidenceId)! } : {}),
            },
          }),
        );
      }
      return out;
    });
    await ledger.mirror(events);
    elog.info({ items: written.length, proxies, destination: request.destination ?? target.root }, 'case exported');
    return { exportId, caseNumber: request.caseNumber, root: target.root, items: written, proxies, events: events.length };
  }
}

/** The newest derivative of each kind (a regeneration adds rows). */
function latestPerKind(rows: readonly DerivativeRow[]): DerivativeRow[] {
  const latest = new Map<string, DerivativeRow>();
  for (const d of rows) {
    const seen = latest.get(d.kind);
    if (!seen || d.createdAt > seen.createdAt) latest.set(d.kind, d);
  }
  return [...latest.values()];
}

/** Only a plain extension from a name the recorder chose; the evidence id names the file. */
export function safeExtension(name: string): string {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(name);
  return match ? `.${match[1]!.toLowerCase()}` : '';
}

function readme(caseNumber: string, count: number, at: string): string {
  return [
    `案件 ${caseNumber} 音像证据导出（复制件） / Case ${caseNumber} evidence export (copy)`,
    `导出时间 / exported at: ${at}`,
    `证据 ${count} 件 / ${count} evidence items`,
    '',
    '本目录为复制件，原始记录保存在一次写入存储中，不得修改。',
    'This folder is a copy; the records themselves stay in write-once storage.',
    '',
    '核对文件完整性 / check the files:   sha256sum -c SHA256SUMS',
    'manifest.json：每件证据的案件编号、采集时间、采集地点、采集人、证明对象，以及完整的监管链（含签名与公钥）。',
    'manifest.json: each item\'s case number, capture time and place, collector and subject, and its whole chain of custody with signatures and public keys.',
    '',
  ].join('\n');
}
