import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { moduleLogger } from '../config/logger.ts';
import type { AccessRequestRow } from '../storage/access.repository.ts';
import type { DocumentRow } from '../storage/case.repository.ts';
import type { DerivativeRow, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { BucketRole } from '../storage/object-store.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import { can, type AccessAction, type EvidenceAction } from './access-policy.ts';
import type { Authorized, Caller, Grants } from './access.service.ts';
import { forbidden, invalid, notFound } from './archive.errors.ts';
import { ExportIntegrityError, safeExtension, type ExportTarget } from './case-export.service.ts';
import { addFound, DISCLOSURE_FIELDS, DOCUMENT_FIELDS, namesIn, scrubText, type DisclosureField, type ScrubResult } from './disclosure-fields.ts';
import { actorOf } from './principal.ts';

const log = moduleLogger('disclosure');

export const DISCLOSURE_FORMAT = 'evidock-disclosure/1';

export interface DisclosureDeps {
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  catalog: { search(filter: SearchFilter): Promise<EvidenceRow[]>; derivativesOf(evidenceId: string): Promise<DerivativeRow[]> };
  cases: { documentsOf(caseNumber: string): Promise<DocumentRow[]> };
  access: {
    grants(p: Caller['principal']): Promise<Grants>;
    authorize(p: Caller['principal'], item: EvidenceRow, action: EvidenceAction, grants: Grants): Authorized;
    approvalCovering(id: string, items: readonly EvidenceRow[], actions: readonly AccessAction[], at: Date): Promise<AccessRequestRow>;
  };
  ledger: {
    append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent>;
    mirror(events: readonly CustodyEvent[]): Promise<void>;
    eventsFor(filter: { evidenceId: string }): Promise<CustodyEvent[]>;
  };
  objects: { read(role: BucketRole, key: string): Promise<Readable> };
  now?: () => Date;
}

export interface DisclosureRequest {
  caseNumber: string;
  /** An approved access request covering the case (or each item) for export. */
  approvalId: string;
  /** Names of persons to mask wherever they appear, beyond those the records label. */
  names?: readonly string[];
  /** The party's name, when the decision names a natural person and it may stay. */
  keep?: readonly string[];
  /** Where the copy goes, for the DISCLOSED events (default: the folder). */
  destination?: string;
}

export interface DisclosureResult {
  disclosureId: string;
  caseNumber: string;
  root: string;
  files: Array<{ evidenceId: string; file: string; sha256: string; redacted: boolean; sourceKind: string }>;
  /** Items with no copy to disclose (no redacted render and no proxy yet). */
  withheld: Array<{ evidenceId: string; reason: string }>;
  masked: ScrubResult['found'];
  events: number;
  /** SHA-256 of manifest-sha256.txt: what the recipient checks the copy against (recorded in each DISCLOSED event). */
  manifestSha256: string;
}

/** What a disclosure copy of the case would hold now, before anyone makes one (no event). */
export interface DisclosurePreview {
  caseNumber: string;
  items: Array<{ evidenceId: string; mediaType: string; captureStart: Date | null; copy: 'redacted' | 'proxy' | 'none'; sourceKind: string | null }>;
  /** Items whose copy would be their newest redacted render. */
  redacted: number;
  /** Items whose copy would be the unprocessed playback proxy (the CLI's disclose.unredacted). */
  unredacted: number;
  /** Items left out: no redacted render and no proxy yet (the CLI's disclose.withheld). */
  withheld: number;
}

/** One disclosure copy made of the case, from its DISCLOSED custody events. */
export interface DisclosureRecord {
  disclosureId: string;
  at: string;
  by: string;
  approvalId: string | null;
  destination: string | null;
  /** SHA-256 of the copy's manifest-sha256.txt (which names every file's hash); null before it was recorded. */
  manifestSha256: string | null;
  files: Array<{ evidenceId: string; file: string; sha256: string; eventSeq: number; eventHash: string }>;
}

/** The copy of an item a publication may carry: its newest redacted render, else its playback proxy. */
export function disclosureSource(derivatives: readonly DerivativeRow[]): { row: DerivativeRow; redacted: boolean } | null {
  const playable = (d: DerivativeRow) => /^(video|audio|image)\//.test(d.contentType);
  const redacted = derivatives.filter((d) => d.kind.startsWith('redacted') && playable(d)).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (redacted) return { row: redacted, redacted: true };
  const proxy = derivatives.find((d) => d.kind === 'proxy');
  return proxy ? { row: proxy, redacted: false } : null;
}

const EXTENSIONS: Record<string, string> = { 'video/mp4': '.mp4', 'audio/mp4': '.m4a', 'image/jpeg': '.jpg', 'image/webp': '.webp', 'image/png': '.png' };

/** Only the allow-listed fields, in their order: whatever else a record holds is never written. */
export function allowedRecord(values: Partial<Record<DisclosureField, JsonValue>>): { [k: string]: JsonValue } {
  const out: { [k: string]: JsonValue } = {};
  for (const f of DISCLOSURE_FIELDS) if (f in values) out[f] = values[f] ?? null;
  return out;
}

/**
 * Disclosure copies for publication (公示, 脱密脱敏): a case's clips and stills — each item's
 * newest redacted render when there is one, else its playback proxy, which the metadata says —
 * and a metadata file holding only the allow-listed fields, their free text scrubbed of ID,
 * card and phone numbers, addresses and third parties' names (disclosure-fields.ts). Needs an
 * approval to export the case; each copy is a DISCLOSED custody event.
 */
export class DisclosureService {
  private readonly now: () => Date;

  constructor(private readonly deps: DisclosureDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The case's items in capture order, each one the caller may see (else 403), for a custodian. */
  private async caseItems(caller: Caller, caseNumber: string): Promise<EvidenceRow[]> {
    const p = caller.principal;
    if (!can(p.role, 'share')) throw forbidden('生成公示脱敏副本');
    const items = await this.deps.catalog.search({ caseNumber, limit: 10_000 });
    if (items.length === 0) throw notFound('case', caseNumber);
    items.sort((a, b) => (a.captureStart?.getTime() ?? 0) - (b.captureStart?.getTime() ?? 0) || a.id.localeCompare(b.id));
    const grants = await this.deps.access.grants(p);
    for (const item of items) this.deps.access.authorize(p, item, 'view', grants);
    return items;
  }

  /** Which copy each item would go out as, so the custodian sees the unredacted and the left out before making one. */
  async preview(caller: Caller, caseNumber: string): Promise<DisclosurePreview> {
    const items: DisclosurePreview['items'] = [];
    for (const item of await this.caseItems(caller, caseNumber)) {
      const source = disclosureSource(await this.deps.catalog.derivativesOf(item.id));
      items.push({ evidenceId: item.id, mediaType: item.mediaType, captureStart: item.captureStart, copy: source ? (source.redacted ? 'redacted' : 'proxy') : 'none', sourceKind: source?.row.kind ?? null });
    }
    const count = (copy: DisclosurePreview['items'][number]['copy']) => items.filter((i) => i.copy === copy).length;
    return { caseNumber, items, redacted: count('redacted'), unredacted: count('proxy'), withheld: count('none') };
  }

  /** The disclosure copies made of the case (newest first), from the ledger: who, when, under which approval, which hashes. */
  async disclosures(caller: Caller, caseNumber: string): Promise<DisclosureRecord[]> {
    const byId = new Map<string, DisclosureRecord>();
    for (const item of await this.caseItems(caller, caseNumber)) {
      for (const e of await this.deps.ledger.eventsFor({ evidenceId: item.id })) {
        const d = e.details;
        if (e.type !== 'DISCLOSED' || d.caseNumber !== caseNumber || typeof d.disclosureId !== 'string') continue;
        const str = (v: JsonValue | undefined) => (typeof v === 'string' ? v : null);
        const record = byId.get(d.disclosureId) ?? { disclosureId: d.disclosureId, at: e.at, by: str(d.by) ?? e.actor.id, approvalId: str(d.approvalId), destination: str(d.destination), manifestSha256: str(d.manifestSha256), files: [] };
        if (e.at < record.at) record.at = e.at;
        record.files.push({ evidenceId: item.id, file: str(d.file) ?? '', sha256: str(d.sha256) ?? '', eventSeq: e.seq, eventHash: e.hash });
        byId.set(d.disclosureId, record);
      }
    }
    for (const r of byId.values()) r.files.sort((a, b) => a.eventSeq - b.eventSeq);
    return [...byId.values()].sort((a, b) => b.at.localeCompare(a.at) || a.disclosureId.localeCompare(b.disclosureId));
  }

  async disclose(caller: Caller, r: DisclosureRequest, target: ExportTarget): Promise<DisclosureResult> {
    const p = caller.principal;
    if (!can(p.role, 'share')) throw forbidden('生成公示脱敏副本');
    if (!r.approvalId) throw invalid(['approval: a disclosure needs an approved access request for export']);
    const now = this.now();
    const items = await this.caseItems(caller, r.caseNumber);
    const approval = await this.deps.access.approvalCovering(r.approvalId, items, ['export'], now);
    const documents = await this.deps.cases.documentsOf(r.caseNumber);

    // Every name the case's own texts label, every collecting officer, and those given: masked in every field.
    const names = [
      ...(r.names ?? []),
      ...items.map((i) => i.officerName).filter((n): n is string => Boolean(n)),
      ...namesIn([...items.flatMap((i) => [i.subject, i.place]), ...documents.map((d) => d.originalName)]),
    ];
    const rules = { names, keep: r.keep ?? [] };
    const masked: ScrubResult['found'] = {};
    const scrub = (text: string | null): string | null => {
      if (text === null) return null;
      const s = scrubText(text, rules);
      addFound(masked, s.found);
      return s.text;
    };

    const disclosureId = randomUUID();
    const files: DisclosureResult['files'] = [];
    const withheld: DisclosureResult['withheld'] = [];
    const records: JsonValue[] = [];
    const written: Array<{ file: string; sha256: string }> = [];
    const eventInputs: Array<{ evidenceId: string; details: { [k: string]: JsonValue } }> = [];
    for (const item of items) {
      const source = disclosureSource(await this.deps.catalog.derivativesOf(item.id));
      if (!source) {
        withheld.push({ evidenceId: item.id, reason: 'no redacted render and no playback proxy' });
        log.warn({ evidenceId: item.id, caseNumber: r.caseNumber }, 'item has no copy to disclose');
        continue;
      }
      const d = source.row;
      const folder = d.contentType.startsWith('image/') ? 'stills' : 'clips';
      // Named by the evidence id: a recorder's file name may hold a name or a place.
      const file = `${folder}/${item.id}${EXTENSIONS[d.contentType] ?? safeExtension(d.objectKey)}`;
      const out = await target.writeStream(file, await this.deps.objects.read('derivatives', d.objectKey));
      if (out.sha256 !== d.sha256) throw new ExportIntegrityError(item.id, `${d.kind} ${d.objectKey} does not hash to its recorded ${d.sha256}`);
      written.push({ file, sha256: out.sha256 });
      files.push({ evidenceId: item.id, file, sha256: out.sha256, redacted: source.redacted, sourceKind: d.kind });
      const record = allowedRecord({
        file,
        sha256: out.sha256,
        size: out.size,
        mediaType: item.mediaType,
        source: { kind: d.kind, redacted: source.redacted, madeAt: d.createdAt.toISOString() },
        caseNumbers: item.caseNumbers,
        captureStart: item.captureStart?.toISOString() ?? null,
        captureEnd: item.captureEnd?.toISOString() ?? null,
        durationSeconds: d.durationSeconds ?? item.media?.durationSeconds ?? null,
        subject: scrub(item.subject),
        place: scrub(item.place),
      });
      records.push(record);
      eventInputs.push({ evidenceId: item.id, details: { disclosureId, caseNumber: r.caseNumber, approvalId: approval.id, by: p.name, destination: r.destination ?? target.root, file, sha256: out.sha256, sourceSha256: d.sha256, record } });
    }
    const documentRecords = documents.map((doc) => {
      const values: Record<(typeof DOCUMENT_FIELDS)[number], JsonValue> = { title: scrub(doc.originalName), contentType: doc.contentType, uploadedAt: doc.createdAt.toISOString() };
      return values as unknown as JsonValue;
    });

    const metadata = {
      format: DISCLOSURE_FORMAT,
      disclosureId,
      caseNumber: r.caseNumber,
      madeAt: now.toISOString(),
      approval: approval.id,
      deidentification: {
        fields: [...DISCLOSURE_FIELDS],
        rules: 'archive/disclosure-fields.ts: resident ID numbers (GB 11643 check), bank cards (Luhn, 16-19 digits), phone numbers, other runs of 15+ digits, addresses finer than a county, names of persons other than the party',
        masked,
      },
      items: records,
      documents: documentRecords,
      withheld,
    };
    await writeText(target, written, 'disclosure.json', `${JSON.stringify(metadata, null, 2)}\n`);
    const unredacted = files.filter((f) => !f.redacted).length;
    await writeText(target, written, 'README.txt', readme(r.caseNumber, files.length, unredacted, now.toISOString()));
    const manifest = written.map((w) => `${w.sha256}  ${w.file}\n`).join('');
    await target.writeText('manifest-sha256.txt', manifest);
    // The copy's one hash a recipient can check (a zip's bytes differ from one download to the next).
    const manifestSha256 = createHash('sha256').update(manifest, 'utf8').digest('hex');

    const events = await this.deps.db.transaction(async (tx) => {
      const out: CustodyEvent[] = [];
      for (const e of eventInputs) {
        out.push(await this.deps.ledger.append(tx, { type: 'DISCLOSED', actor: actorOf(p), evidenceId: e.evidenceId, details: { ...e.details, manifestSha256, masked: masked as { [k: string]: JsonValue } } }));
      }
      return out;
    });
    await this.deps.ledger.mirror(events);
    log.info({ disclosureId, caseNumber: r.caseNumber, files: files.length, unredacted, withheld: withheld.length, masked }, 'disclosure copy written');
    return { disclosureId, caseNumber: r.caseNumber, root: target.root, files, withheld, masked, events: events.length, manifestSha256 };
  }
}

async function writeText(target: ExportTarget, written: Array<{ file: string; sha256: string }>, file: string, text: string): Promise<void> {
  await target.writeText(file, text);
  written.push({ file, sha256: createHash('sha256').update(text, 'utf8').digest('hex') });
}

function readme(caseNumber: string, files: number, unredacted: number, at: string): string {
  return [
    `案件 ${caseNumber} 公示用脱敏副本 / Case ${caseNumber} de-identified copy for publication`,
    `生成时间 / made at: ${at}`,
    `clips/、stills/：${files} 个文件（有遮蔽渲染的用遮蔽版本，否则为播放副本）/ ${files} files (the redacted render where one exists, else the playback proxy)`,
    'disclosure.json：仅含允许公开的字段，已删除身份证号、银行卡号、电话、详细地址和当事人以外人员的姓名。',
    'disclosure.json: only the fields that may be published; ID, card and phone numbers, detailed addresses and names of persons other than the party removed.',
    ...(unredacted > 0
      ? [
          `注意：${unredacted} 个文件没有遮蔽渲染，画面和声音未经处理，公开前须人工审查。`,
          `Note: ${unredacted} files have no redacted render; their picture and sound are unprocessed and must be reviewed before publication.`,
        ]
      : []),
    'manifest-sha256.txt：每个文件的 SHA-256 / the SHA-256 of every file.',
    '',
  ].join('\n');
}
