import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { moduleLogger } from '../config/logger.ts';
import type { DocumentRow } from '../storage/case.repository.ts';
import type { DerivativeRow, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import { publicKeyFromPem, verifyEventSelection, type Checkpoint, type CustodyEvent, type CustodyEventInput, type JsonValue } from '../storage/custody-chain.ts';
import type { InclusionProof } from '../storage/custody-ledger.service.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import type { BucketRole } from '../storage/object-store.ts';

import { BAGIT_DECLARATION, bagInfoText, manifestText, PAYLOAD_MANIFEST, payloadOxum, SIGNATURE_FILE, TAG_MANIFEST } from './bagit-format.ts';
import { custodyReportHtml, type CustodyReportInput, type ReportDocument, type ReportItem } from './custody-report.ts';
import { watermarkFor, type Watermark } from './watermark-text.ts';

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

/** Burns text into a copy of a proxy (the media workers' ffmpeg); the copy is streamed to `write`. */
export interface ProxyWatermarker {
  burnIn<T>(proxy: Readable, lines: readonly string[], write: (copy: Readable) => Promise<T>): Promise<T>;
  version(): Promise<string>;
}

export interface CaseExportDeps {
  workstationId: string;
  /** Names the software in bag-info.txt (Bag-Software-Agent). */
  softwareAgent?: string;
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  catalog: { search(filter: SearchFilter): Promise<EvidenceRow[]>; derivativesOf(evidenceId: string): Promise<DerivativeRow[]> };
  cases: { documentsOf(caseNumber: string): Promise<DocumentRow[]> };
  ledger: {
    eventsFor(filter: { evidenceId?: string; documentId?: string }): Promise<CustodyEvent[]>;
    publicKeys(): Promise<Array<{ keyId: string; workstationId: string; publicKeyPem: string }>>;
    /** Each event's place in the ledger's Merkle tree, against one signed checkpoint that covers them all. */
    inclusionProofs(seqs: readonly number[]): Promise<{ checkpoint: Checkpoint | null; proofs: InclusionProof[] }>;
    append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent>;
    mirror(events: readonly CustodyEvent[]): Promise<void>;
  };
  objects: { read(role: BucketRole, key: string): Promise<Readable> };
  /** The workstation's ledger key: it signs the package's tag manifest as it signs custody events. */
  signer: { keyId: string; signHash(sha256Hex: string): string };
  /** The custody report as an A4 PDF (custody-report.pdf beside the HTML page). */
  custodyPdf: (report: CustodyReportInput) => Promise<Buffer>;
  /** Needed only for exports with a watermark. */
  watermarker?: ProxyWatermarker;
  /** The zone of the day burned into a watermark (default Asia/Shanghai). */
  timeZone?: string;
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
  /**
   * A party granted a copy: each video proxy is added a second time with the case, this
   * recipient and the day burned in (implies withProxies). The originals are never touched.
   */
  watermark?: string | null;
}

export interface CaseExportResult {
  exportId: string;
  caseNumber: string;
  root: string;
  items: Array<{ evidenceId: string; file: string; sha256: string; size: number }>;
  documents: number;
  proxies: number;
  /** Watermarked copies of proxies. */
  watermarked: number;
  events: number;
  /** Payload bytes and files, as in bag-info.txt. */
  payloadOxum: string;
  /** SHA-256 of tagmanifest-sha256.txt: what signature.json signs, named in every EXPORTED event. */
  tagManifestSha256: string;
}

export const PACKAGE_FORMAT = 'evidock-case-export/3';
/** Packages of before the Merkle log: the same, without inclusion proofs. */
export const PACKAGE_FORMATS_WITHOUT_PROOFS = ['evidock-case-export/2'];
/** The signed tree head every record's inclusion proofs lead to. */
export const CHECKPOINT_FILE = 'data/ledger-checkpoint.json';

/** Where a record's inclusion proofs go, beside its custody events. */
export function proofFileOf(custodyFile: string): string {
  return custodyFile.replace(/\.json$/, '.proofs.json');
}
/** Originals copied at once. */
const EXPORT_PARALLEL = 3;

/**
 * `work` over `items`, at most `limit` at a time, results in the items' order. The first
 * failure stops new work and is thrown once the work in flight has settled, so no copy is
 * still writing when the caller cleans up.
 */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (failure === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}

/**
 * A case's evidence package for archiving with the case file (归档) and for legal review
 * (法制审核), as a BagIt 1.0 bag (RFC 8493) that the Library of Congress validator checks
 * without evidock: under data/ every original of the case (read back from write-once
 * storage and checked against its recorded SHA-256), the case's documents (text and AV
 * records of one case kept together), optional proxies, each record's custody events as
 * JSON and evidence.json with the five required fields; beside it a bilingual custody
 * report, the public keys, the manifests, and a detached Ed25519 signature over the tag
 * manifest. bagit.txt is written last, so an export cut off half-way is not a bag to any
 * tool. Copying evidence must be logged: each item gets an EXPORTED custody event, written
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
    const documents = await this.deps.cases.documentsOf(request.caseNumber);
    if (items.length === 0 && documents.length === 0) throw new CaseNotFoundError(request.caseNumber);
    items.sort((a, b) => (a.captureStart?.getTime() ?? 0) - (b.captureStart?.getTime() ?? 0) || a.id.localeCompare(b.id));
    const exportId = randomUUID();
    const now = this.now();
    const exportedAt = now.toISOString();
    // Decided before anything is written: a name that cannot be printed leaves no folder half-filled.
    const mark: Watermark | null = request.watermark ? watermarkFor(request.watermark, request.caseNumber, now, this.deps.timeZone ?? 'Asia/Shanghai') : null;
    const watermarker = this.deps.watermarker;
    if (mark && !watermarker) throw new Error('this export service was built without a watermarker');
    const withProxies = request.withProxies || mark !== null;
    const elog = log.child({ exportId, caseNumber: request.caseNumber });
    const keys = await ledger.publicKeys();
    const keyObjects = new Map(keys.map((k) => [k.keyId, publicKeyFromPem(k.publicKeyPem)]));

    const payload: Array<{ path: string; sha256: string; size: number }> = [];
    const writeFile = async (path: string, source: Readable) => {
      const out = await target.writeStream(path, source);
      payload.push({ path, ...out });
      return out;
    };
    const writeJson = async (path: string, value: unknown) => {
      const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
      await target.writeText(path, bytes.toString('utf8'));
      payload.push({ path, sha256: sha256Of(bytes), size: bytes.length });
    };

    // Every record's events, and their inclusion proofs against one checkpoint, read first.
    const custody = new Map<string, CustodyEvent[]>();
    for (const e of items) custody.set(e.id, await ledger.eventsFor({ evidenceId: e.id }));
    for (const d of documents) custody.set(d.id, await ledger.eventsFor({ documentId: d.id }));
    const included = await ledger.inclusionProofs([...new Set([...custody.values()].flat().map((e) => e.seq))]);
    const proofOf = new Map(included.proofs.map((p) => [p.seq, p]));
    const writeCustody = async (id: string, custodyFile: string) => {
      const events = custody.get(id)!;
      await writeJson(custodyFile, events);
      const proofFile = proofFileOf(custodyFile);
      await writeJson(proofFile, {
        treeSize: included.checkpoint?.treeSize ?? 0,
        proofs: events.filter((e) => proofOf.has(e.seq)).map((e) => proofOf.get(e.seq)!),
      });
      return { events, proofFile };
    };
    if (included.checkpoint) await writeJson(CHECKPOINT_FILE, included.checkpoint);

    const written: CaseExportResult['items'] = [];
    const manifestItems: JsonValue[] = [];
    const reportItems: ReportItem[] = [];
    let proxies = 0;
    const watermarkedFiles = new Map<string, string[]>();
    // The copies are what takes the time (read back, hash, fsync): a few at once keep the
    // network, the CPU and the disk busy together instead of in turn.
    const copies = await inParallel(items, EXPORT_PARALLEL, async (e) => {
      const file = `data/originals/${e.id}${safeExtension(e.originalName)}`;
      const copy = await writeFile(file, await objects.read('originals', e.objectKey));
      if (copy.sha256 !== e.sha256 || copy.size !== e.size) {
        throw new ExportIntegrityError(e.id, `storage returned ${copy.size} bytes with SHA-256 ${copy.sha256}, the catalog says ${e.size} bytes ${e.sha256}`);
      }
      return { file, copy };
    });
    for (const [n, e] of items.entries()) {
      const { file, copy } = copies[n]!;
      written.push({ evidenceId: e.id, file, sha256: copy.sha256, size: copy.size });
      const derived: JsonValue[] = [];
      if (withProxies) {
        for (const d of latestPerKind(await catalog.derivativesOf(e.id)).filter((x) => x.kind === 'proxy')) {
          const proxyFile = `data/proxies/${e.id}${safeExtension(d.objectKey)}`;
          const out = await writeFile(proxyFile, await objects.read('derivatives', d.objectKey));
          if (out.sha256 !== d.sha256) throw new ExportIntegrityError(e.id, `proxy ${d.objectKey} does not hash to its recorded ${d.sha256}`);
          derived.push({ kind: d.kind, file: proxyFile, sha256: out.sha256, size: out.size, partial: d.partial, tool: `${d.tool} ${d.toolVersion}` });
          proxies++;
          // A watermark goes on pictures: an audio-only proxy is exported plain.
          if (mark && watermarker && d.contentType.startsWith('video/')) {
            const markedFile = `data/watermarked/${e.id}.mp4`;
            const marked = await watermarker.burnIn(await objects.read('derivatives', d.objectKey), mark.lines, (copy) => writeFile(markedFile, copy));
            derived.push({
              kind: 'watermarked-proxy',
              file: markedFile,
              sha256: marked.sha256,
              size: marked.size,
              from: proxyFile,
              watermark: { recipient: mark.recipient, caseNumber: mark.caseNumber, date: mark.date, text: mark.lines },
              tool: await watermarker.version(),
            });
            watermarkedFiles.set(e.id, [...(watermarkedFiles.get(e.id) ?? []), markedFile]);
          }
        }
      }
      const custodyFile = `data/custody/${e.id}.json`;
      const { events, proofFile } = await writeCustody(e.id, custodyFile);
      // The five fields and the file, as the report and evidence.json both state them.
      const fields = {
        evidenceId: e.id,
        file,
        sha256: e.sha256,
        sm3: e.sm3,
        size: e.size,
        caseNumbers: e.caseNumbers,
        captureStart: e.captureStart?.toISOString() ?? null,
        captureEnd: e.captureEnd?.toISOString() ?? null,
        place: e.place,
        collector: e.officerId,
        collectorName: e.officerName,
        subject: e.subject,
        recorderSerial: e.recorderSerial,
        originalName: e.originalName,
      };
      manifestItems.push({
        ...fields,
        mediaType: e.mediaType,
        unitId: e.unitId,
        originalPath: e.originalPath,
        storedAs: e.objectKey,
        verifiedAt: e.verifiedAt.toISOString(),
        transferDelaySeconds: e.transferDelaySeconds,
        transferLate: e.transferLate,
        flags: e.flags,
        derivatives: derived,
        custodyFile,
        // Checked by verify-package, so a custody event taken out of the file is named as such.
        custodyEvents: events.length,
        proofFile,
      });
      reportItems.push({ ...fields, events, badEvents: new Set(verifyEventSelection(events, keyObjects).map((p) => p.seq)) });
      elog.info({ evidenceId: e.id }, 'exported');
    }

    const manifestDocuments: JsonValue[] = [];
    const reportDocuments: ReportDocument[] = [];
    for (const d of documents) {
      const file = `data/documents/${d.id}${safeExtension(d.originalName)}`;
      const copy = await writeFile(file, await objects.read('originals', d.objectKey));
      if (copy.sha256 !== d.sha256 || copy.size !== d.size) throw new ExportIntegrityError(d.id, `document ${d.objectKey} does not hash to its recorded ${d.sha256}`);
      const custodyFile = `data/custody/document-${d.id}.json`;
      const { events, proofFile } = await writeCustody(d.id, custodyFile);
      manifestDocuments.push({
        documentId: d.id,
        file,
        name: d.originalName,
        contentType: d.contentType,
        sha256: d.sha256,
        size: d.size,
        unitId: d.unitId,
        uploadedBy: d.uploadedBy,
        uploadedAt: d.createdAt.toISOString(),
        custodyFile,
        custodyEvents: events.length,
        proofFile,
      });
      reportDocuments.push({ documentId: d.id, file, name: d.originalName, sha256: d.sha256, size: d.size, uploadedBy: d.uploadedBy, uploadedAt: d.createdAt.toISOString() });
    }

    const approvals = [...new Set([...(request.approvals?.values() ?? [])].filter((a): a is string => Boolean(a)))];
    await writeJson('data/evidence.json', {
      format: PACKAGE_FORMAT,
      exportId,
      caseNumber: request.caseNumber,
      exportedAt,
      exportedBy: request.by,
      reason: request.reason,
      approvals,
      watermark: mark ? { recipient: mark.recipient, date: mark.date, text: mark.lines } : null,
      workstationId: this.deps.workstationId,
      // A copy, not the record: the originals stay in write-once storage (复制件).
      copy: true,
      signatures: {
        scheme: 'each custody event: hash = SHA-256 of its body (all fields but hash and signature) as canonical JSON with sorted keys; signature = Ed25519 over the 32 hash bytes, base64. The package: signature.json holds Ed25519 over the 32 bytes of the SHA-256 of tagmanifest-sha256.txt',
        ledger: `each event is a leaf of the custody ledger's Merkle tree (RFC 9162 §2.1: leaf = SHA-256(0x00 || the 32 bytes of its hash), node = SHA-256(0x01 || left || right)); each record's proofFile holds its events' inclusion proofs (RFC 9162 §2.1.3) against ${CHECKPOINT_FILE}, a signed tree head: Ed25519 over the SHA-256 of the canonical JSON of {keyId, rootHash, timestamp, treeSize}`,
        keys: keys as unknown as JsonValue,
      },
      ledgerCheckpoint: included.checkpoint ? CHECKPOINT_FILE : null,
      items: manifestItems,
      documents: manifestDocuments,
    });

    // Tag files: the hashes of what is written here go into the tag manifest.
    const tags: Array<{ path: string; sha256: string }> = [];
    const writeTag = async (path: string, text: string) => {
      await target.writeText(path, text);
      tags.push({ path, sha256: sha256Of(Buffer.from(text, 'utf8')) });
    };
    const oxum = payloadOxum(payload);
    const units = [...new Set([...items.map((i) => i.unitId), ...documents.map((d) => d.unitId)].filter((u): u is string => Boolean(u)))];
    await writeTag(
      'bag-info.txt',
      bagInfoText([
        ['Source-Organization', units.join(', ') || this.deps.workstationId],
        ['Bagging-Date', exportedAt.slice(0, 10)],
        ['Bag-Software-Agent', this.deps.softwareAgent ?? 'evidock'],
        ['External-Identifier', exportId],
        ['External-Description', `案件 ${request.caseNumber} 音像证据及文书（复制件） / Case ${request.caseNumber} AV records and documents (copy)`],
        ['Bag-Group-Identifier', request.caseNumber],
        ['Case-Number', request.caseNumber],
        ...units.map((u) => ['Unit', u] as const),
        ['Exported-By', request.by],
        ['Exported-At', exportedAt],
        ['Approval-Reference', approvals.join(', ') || 'none'],
        ['Reason', request.reason ?? ''],
        ...(mark ? [['Watermark-Recipient', mark.recipient] as const] : []),
        ['Evidence-Items', String(items.length)],
        ['Case-Documents', String(documents.length)],
        ['Payload-Oxum', oxum],
      ]),
    );
    await writeTag(PAYLOAD_MANIFEST, manifestText(payload));
    await writeTag('public-keys.json', `${JSON.stringify(keys, null, 2)}\n`);
    const report: CustodyReportInput = {
      caseNumber: request.caseNumber,
      exportId,
      exportedAt,
      exportedBy: request.by,
      reason: request.reason,
      recipient: mark?.recipient ?? null,
      workstationId: this.deps.workstationId,
      items: reportItems,
      documents: reportDocuments,
      keys,
    };
    await writeTag('custody-report.html', custodyReportHtml(report));
    const pdf = await target.writeStream('custody-report.pdf', Readable.from([await this.deps.custodyPdf(report)]));
    tags.push({ path: 'custody-report.pdf', sha256: pdf.sha256 });
    await writeTag('README.txt', readme(request.caseNumber, items.length, documents.length, exportedAt, mark?.recipient ?? null));
    tags.push({ path: 'bagit.txt', sha256: sha256Of(Buffer.from(BAGIT_DECLARATION, 'utf8')) });
    const tagManifest = manifestText(tags);
    await target.writeText(TAG_MANIFEST, tagManifest);
    const tagHash = sha256Of(Buffer.from(tagManifest, 'utf8'));
    await target.writeText(
      SIGNATURE_FILE,
      `${JSON.stringify({ signs: TAG_MANIFEST, sha256: tagHash, algorithm: 'Ed25519', keyId: this.deps.signer.keyId, signature: this.deps.signer.signHash(tagHash) }, null, 2)}\n`,
    );
    await target.writeText('bagit.txt', BAGIT_DECLARATION);

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
              format: PACKAGE_FORMAT,
              caseNumber: request.caseNumber,
              reason: request.reason,
              destination: request.destination ?? target.root,
              file: w.file,
              sha256: w.sha256,
              withProxies,
              ...(mark ? { recipient: mark.recipient, watermarked: watermarkedFiles.get(w.evidenceId) ?? [] } : {}),
              tagManifestSha256: tagHash,
              ...(request.approvals?.get(w.evidenceId) ? { approvalId: request.approvals.get(w.evidenceId)! } : {}),
            },
          }),
        );
      }
      return out;
    });
    await ledger.mirror(events);
    elog.info({ items: written.length, documents: documents.length, proxies, watermarked: watermarkedFiles.size, payloadOxum: oxum, destination: request.destination ?? target.root }, 'case exported');
    return { exportId, caseNumber: request.caseNumber, root: target.root, items: written, documents: documents.length, proxies, watermarked: [...watermarkedFiles.values()].reduce((n, f) => n + f.length, 0), events: events.length, payloadOxum: oxum, tagManifestSha256: tagHash };
  }
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
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

/** The bag's folder name: the case number kept readable, minus what Windows or a shell cannot hold. */
export function bagName(caseNumber: string, exportId: string): string {
  const safe = caseNumber.replace(/[\x00-\x1f\x7f<>:"/\\|?*]/g, '_').replace(/^[.\s]+|[.\s]+$/g, '_');
  return `${safe}-${exportId.slice(0, 8)}`;
}

/** Only a plain extension from a name the recorder chose; the evidence id names the file. */
export function safeExtension(name: string): string {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(name);
  return match ? `.${match[1]!.toLowerCase()}` : '';
}

function readme(caseNumber: string, items: number, documents: number, at: string, recipient: string | null): string {
  return [
    `案件 ${caseNumber} 音像证据导出（复制件） / Case ${caseNumber} evidence export (copy)`,
    `导出时间 / exported at: ${at}`,
    `音视频记录 ${items} 件，文书 ${documents} 件 / ${items} AV records, ${documents} documents`,
    '',
    '本证据包为复制件，原始记录保存在一次写入存储中，不得修改。',
    'This package is a copy; the records themselves stay in write-once storage.',
    '',
    '格式：BagIt 1.0（RFC 8493）。核验 / check it:',
    '  bagit.py --validate <本目录 / this folder>        (Library of Congress, pip install bagit)',
    '  evidock verify-package <本目录 / this folder>     (also the signatures and each custody event)',
    '',
    'custody-report.html、custody-report.pdf（A4）：每件记录的案件编号、采集时间、采集地点、采集人、证明对象与监管链。',
    'custody-report.html, custody-report.pdf (A4): each record\'s case number, capture time and place, collector and subject, and its chain of custody.',
    'data/evidence.json、data/custody/*.json：机器可读的同一内容，含签名；public-keys.json：核验签名的公钥。',
    'data/evidence.json, data/custody/*.json: the same, machine-readable, with signatures; public-keys.json: the keys to check them.',
    ...(recipient
      ? [
          `data/watermarked/：播放副本的水印复制件（案件编号、提供给 ${recipient}、日期），原始记录无水印。`,
          `data/watermarked/: copies of the playback proxies with the case number, the recipient (${recipient}) and the date burned in; the originals carry none.`,
        ]
      : []),
    '',
  ].join('\n');
}
