import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { moduleLogger } from '../config/logger.ts';
import type { AccessLogRow, AccessRequestRow } from '../storage/access.repository.ts';
import type { DerivativeRow, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { BucketRole } from '../storage/object-store.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import type { ShareItemRow, ShareMode, ShareRow } from '../storage/share.repository.ts';
import { can, type AccessAction, type EvidenceAction } from './access-policy.ts';
import type { Authorized, Caller, Grants } from './access.service.ts';
import { ArchiveError, conflict, forbidden, invalid, notFound } from './archive.errors.ts';
import type { ProxyWatermarker } from './case-export.service.ts';
import { actorOf, type Principal } from './principal.ts';
import type { ShareReceiptInput } from './share-receipt.ts';
import { WatermarkError, WatermarkRecipientError, watermarkFor } from './watermark-text.ts';

const log = moduleLogger('sharing');

export const SHARE_MODES = ['view', 'download'] as const;
export const MAX_SHARE_ITEMS = 200;
export const TOKEN_PREFIX = 'evs_';

/** The kind of the derivative row a share's watermarked copy is catalogued as. */
export const SHARE_COPY_KIND = 'share-copy';

/** Puts a copy made for a share into the derivatives bucket, hashing what it sends. */
export interface ShareCopyUploader {
  upload(key: string, copy: Readable, contentType: string, metadata: Record<string, string>): Promise<{ sha256: string; size: number; etag: string }>;
}

export interface SharingDeps {
  sharing: { maxDays: number; defaultDays: number; baseUrl?: string | undefined };
  timeZone: string;
  db: { transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  catalog: {
    getEvidence(id: string): Promise<EvidenceRow | null>;
    search(filter: SearchFilter): Promise<EvidenceRow[]>;
    derivativesOf(evidenceId: string): Promise<DerivativeRow[]>;
    insertDerivative(tx: Queryable, d: Omit<DerivativeRow, 'createdAt'>): Promise<void>;
  };
  shares: {
    insert(tx: Queryable, s: Omit<ShareRow, 'revokedAt' | 'revokedBy' | 'revokeReason'>): Promise<void>;
    byId(id: string, tx?: Queryable, lock?: boolean): Promise<ShareRow | null>;
    byTokenHash(tokenSha256: string): Promise<ShareRow | null>;
    tokenKnown(tokenSha256: string): Promise<boolean>;
    list(f: { unitIds: readonly string[] | null; caseNumber?: string; evidenceId?: string; limit: number }): Promise<ShareRow[]>;
    revoke(tx: Queryable, id: string, r: { at: Date; by: string; reason: string }): Promise<void>;
  };
  access: {
    grants(p: Principal): Promise<Grants>;
    authorize(p: Principal, item: EvidenceRow, action: EvidenceAction, grants: Grants): Authorized;
    approvalCovering(id: string, items: readonly EvidenceRow[], actions: readonly AccessAction[], at: Date): Promise<AccessRequestRow>;
    recordShared(share: ShareRow, entry: { action: 'view' | 'play' | 'download'; evidenceId: string }, from: { ip: string | null; userAgent: string | null }): Promise<AccessLogRow>;
  };
  requests: { request(id: string): Promise<AccessRequestRow | null> };
  ledger: { append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent>; mirror(events: readonly CustodyEvent[]): Promise<void> };
  objects: { read(role: BucketRole, key: string): Promise<Readable>; remove(role: BucketRole, key: string): Promise<void> };
  copies: ShareCopyUploader;
  watermarker: ProxyWatermarker;
  now?: () => Date;
}

export interface ShareRequest {
  evidenceIds?: readonly string[];
  caseNumber?: string;
  recipient: string;
  mode: ShareMode;
  expiresAt?: Date;
  /** On unless turned off: the recipient's name, the case and the day burned into the copy. */
  watermark?: boolean;
  approvalId?: string | null;
  purpose?: string | null;
}

export type ShareState = 'active' | 'expired' | 'revoked';

export function shareState(s: Pick<ShareRow, 'revokedAt' | 'expiresAt'>, at: Date): ShareState {
  if (s.revokedAt) return 'revoked';
  return s.expiresAt.getTime() <= at.getTime() ? 'expired' : 'active';
}

export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Only what looks like a token is looked up (anything else is a 404 without a query). */
export const TOKEN_PATTERN = /^evs_[A-Za-z0-9_-]{43}$/;

/** What a share request lacks, before anything is looked up or made. Pure. */
export function shareRequestProblems(r: ShareRequest, now: Date, limits: { maxDays: number }): string[] {
  const problems: string[] = [];
  const ids = r.evidenceIds ?? [];
  if ((ids.length > 0) === (r.caseNumber !== undefined && r.caseNumber !== '')) problems.push('name either the items (evidenceIds) or a case (caseNumber)');
  if (ids.length > MAX_SHARE_ITEMS) problems.push(`evidenceIds: at most ${MAX_SHARE_ITEMS}`);
  if (!(SHARE_MODES as readonly string[]).includes(r.mode)) problems.push('mode: view or download');
  if (r.expiresAt) {
    if (Number.isNaN(r.expiresAt.getTime())) problems.push('expiresAt: not a date');
    else if (r.expiresAt.getTime() <= now.getTime()) problems.push('expiresAt: must be in the future');
    else if (r.expiresAt.getTime() > now.getTime() + limits.maxDays * 86_400_000) problems.push(`expiresAt: at most ${limits.maxDays} days from now (sharing.maxDays)`);
  }
  if (r.purpose && r.purpose.length > 500) problems.push('purpose: at most 500 characters');
  return problems;
}

/** The newest playback proxy of an item: what a recipient is given a copy of. */
function proxyOf(derivatives: readonly DerivativeRow[]): DerivativeRow | null {
  return derivatives.find((d) => d.kind === 'proxy') ?? null;
}

export interface CreatedShare {
  share: ShareRow;
  /** Shown once: only its SHA-256 is kept. */
  token: string;
  /** `/share/<token>`, after sharing.baseUrl when it is set. */
  link: string;
}

/**
 * Share links (受控共享): a custodian hands a named recipient copies of items or of a case,
 * to watch (view) or to download, until an expiry, under an approved access request or its
 * role. The recipient gets the playback proxy with its name, the case and the day burned in
 * (never the original, which is never changed); the link is a random token of which only the
 * SHA-256 is stored; every look through the link is an access record naming the share.
 */
export class SharingService {
  private readonly now: () => Date;

  constructor(private readonly deps: SharingDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async create(caller: Caller, r: ShareRequest): Promise<CreatedShare> {
    const p = caller.principal;
    if (!can(p.role, 'share')) throw forbidden('创建共享链接');
    const now = this.now();
    const problems = shareRequestProblems(r, now, this.deps.sharing);
    if (problems.length > 0) throw invalid(problems);
    const items = await this.itemsOf(r);
    const grants = await this.deps.access.grants(p);
    // Hidden items answer 404 as everywhere; then the share needs an approval or the role.
    for (const item of items) this.deps.access.authorize(p, item, 'view', grants);
    let approval: AccessRequestRow | null = null;
    let authorizedBy: ShareRow['authorizedBy'] = 'role';
    if (r.approvalId) {
      approval = await this.deps.access.approvalCovering(r.approvalId, items, r.mode === 'download' ? ['download', 'export'] : ['play', 'download', 'export'], now);
      authorizedBy = 'approval';
    } else {
      for (const item of items) {
        const a = this.deps.access.authorize(p, item, 'export', grants);
        if (a.by === 'approval') throw new ArchiveError('APPROVAL_REQUIRED', 403, 'sharing these items needs an approval: give the access request (approvalId)', '共享这些记录需注明已批准的申请编号');
      }
    }
    const defaultExpiry = new Date(now.getTime() + this.deps.sharing.defaultDays * 86_400_000);
    let expiresAt = r.expiresAt ?? defaultExpiry;
    // A share never outlives the approval it was made under.
    if (approval?.expiresAt && expiresAt > approval.expiresAt) {
      if (r.expiresAt) throw invalid([`expiresAt: after the approval's expiry (${approval.expiresAt.toISOString()})`]);
      expiresAt = approval.expiresAt;
    }
    const watermark = r.watermark ?? true;
    const caseLabel = r.caseNumber ?? [...new Set(items.flatMap((i) => i.caseNumbers))].join('，') ?? '';
    let mark;
    try {
      mark = watermark ? watermarkFor(r.recipient, caseLabel || '-', now, this.deps.timeZone) : null;
    } catch (error) {
      if (error instanceof WatermarkRecipientError) throw invalid([`recipient: ${error.message}`]);
      throw error;
    }
    const recipient = mark?.recipient ?? watermarkFor(r.recipient, '-', now, this.deps.timeZone).recipient;

    const sources = new Map<string, DerivativeRow>();
    for (const item of items) {
      const proxy = proxyOf(await this.deps.catalog.derivativesOf(item.id));
      if (!proxy) throw conflict('SHARE_NO_COPY', `item ${item.id} has no playback proxy yet (evidock derive ${item.id})`, `记录 ${item.id} 尚无播放副本，无法共享（可运行 evidock derive）`);
      sources.set(item.id, proxy);
    }

    const shareId = randomUUID();
    const slog = log.child({ shareId });
    const uploaded: string[] = [];
    const shareItems: ShareItemRow[] = [];
    const derived: Array<Omit<DerivativeRow, 'createdAt'>> = [];
    try {
      const toolVersion = mark ? await this.deps.watermarker.version() : '';
      for (const [position, item] of items.entries()) {
        const proxy = sources.get(item.id)!;
        // A watermark goes on pictures: an audio proxy (or a photo) is shared as it is.
        if (mark && proxy.contentType.startsWith('video/')) {
          const key = `shares/${shareId}/${item.id}.mp4`;
          let copy;
          try {
            copy = await this.deps.watermarker.burnIn(await this.deps.objects.read('derivatives', proxy.objectKey), mark.lines, (stream) =>
              this.deps.copies.upload(key, stream, 'video/mp4', { 'evidence-id': item.id, 'share-id': shareId, kind: SHARE_COPY_KIND }),
            );
          } catch (error) {
            if (error instanceof WatermarkError) throw conflict('WATERMARK_FAILED', error.message, `无法生成水印副本：${error.message}`);
            throw error;
          }
          uploaded.push(key);
          shareItems.push({ evidenceId: item.id, position, sha256: item.sha256, copyKind: SHARE_COPY_KIND, copyKey: key, copySha256: copy.sha256, copySize: copy.size, contentType: 'video/mp4', watermarkLines: mark.lines });
          derived.push({
            id: randomUUID(),
            evidenceId: item.id,
            kind: SHARE_COPY_KIND,
            objectKey: key,
            contentType: 'video/mp4',
            sha256: copy.sha256,
            size: copy.size,
            partial: proxy.partial,
            width: proxy.width,
            height: proxy.height,
            durationSeconds: proxy.durationSeconds,
            tool: 'ffmpeg',
            toolVersion,
            arguments: { watermark: mark.lines, fromProxy: proxy.sha256, shareId, recipient, etag: copy.etag },
          });
        } else {
          shareItems.push({ evidenceId: item.id, position, sha256: item.sha256, copyKind: proxy.kind, copyKey: proxy.objectKey, copySha256: proxy.sha256, copySize: proxy.size, contentType: proxy.contentType, watermarkLines: null });
        }
      }
    } catch (error) {
      await this.discard(uploaded);
      throw error;
    }

    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const share: ShareRow = {
      id: shareId,
      tokenSha256: tokenHash(token),
      recipient,
      caseNumber: r.caseNumber ?? null,
      mode: r.mode,
      watermark,
      approvalId: approval?.id ?? null,
      authorizedBy,
      purpose: r.purpose?.trim() || null,
      createdBy: p.name,
      unitIds: [...p.unitIds],
      createdAt: now,
      expiresAt,
      revokedAt: null,
      revokedBy: null,
      revokeReason: null,
      items: shareItems,
    };
    // Everything the tables hold, so the catalog can be rebuilt from the ledger (never the token).
    const details: { [k: string]: JsonValue } = {
      shareId,
      recipient,
      caseNumber: share.caseNumber,
      mode: share.mode,
      watermark,
      approvalId: share.approvalId,
      authorizedBy,
      purpose: share.purpose,
      createdBy: share.createdBy,
      unitIds: share.unitIds,
      createdAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      tokenSha256: share.tokenSha256,
      items: shareItems.map((i) => ({ ...i }) as unknown as JsonValue),
    };
    let events: CustodyEvent[];
    try {
      events = await this.deps.db.transaction(async (tx) => {
        await this.deps.shares.insert(tx, share);
        const out: CustodyEvent[] = [];
        for (const d of derived) {
          await this.deps.catalog.insertDerivative(tx, d);
          const args = d.arguments as { watermark: string[]; fromProxy: string; etag: string; shareId: string; recipient: string };
          out.push(
            await this.deps.ledger.append(tx, {
              type: 'DERIVED',
              actor: actorOf(p),
              evidenceId: d.evidenceId,
              details: {
                kind: d.kind,
                key: d.objectKey,
                sha256: d.sha256,
                size: d.size,
                etag: args.etag,
                partial: d.partial,
                from: items.find((i) => i.id === d.evidenceId)!.sha256,
                fromProxy: args.fromProxy,
                tool: d.tool,
                toolVersion: d.toolVersion,
                contentType: d.contentType,
                width: d.width,
                height: d.height,
                durationSeconds: d.durationSeconds,
                // The row's arguments whole, so a rebuilt catalog has them; a copy changes nothing on the item.
                arguments: d.arguments as JsonValue,
                mediaPatch: {},
                shareId,
                recipient,
              },
            }),
          );
        }
        for (const item of items) out.push(await this.deps.ledger.append(tx, { type: 'SHARE_CREATED', actor: actorOf(p), evidenceId: item.id, details }));
        return out;
      });
    } catch (error) {
      await this.discard(uploaded);
      throw error;
    }
    await this.deps.ledger.mirror(events);
    slog.info({ by: p.name, items: items.length, mode: share.mode, expiresAt: expiresAt.toISOString(), watermarked: derived.length }, 'share created');
    return { share, token, link: `${(this.deps.sharing.baseUrl ?? '').replace(/\/+$/, '')}/share/${token}` };
  }

  async list(caller: Caller, f: { caseNumber?: string; evidenceId?: string; limit?: number } = {}): Promise<ShareRow[]> {
    const p = caller.principal;
    if (!can(p.role, 'share')) throw forbidden('查看共享链接');
    return this.deps.shares.list({ unitIds: p.seesUnassigned ? null : [...p.scope], ...f, limit: f.limit ?? 200 });
  }

  /** Every share (a trusted workstation's `evidock share list`), newest first. */
  async all(f: { caseNumber?: string; evidenceId?: string; limit?: number } = {}): Promise<ShareRow[]> {
    return this.deps.shares.list({ unitIds: null, ...f, limit: f.limit ?? 500 });
  }

  /** One share by id, or by the first characters of its id when they name only one. */
  async byId(id: string): Promise<ShareRow> {
    let share: ShareRow | null = null;
    if (/^[0-9a-f-]{36}$/i.test(id)) share = await this.deps.shares.byId(id);
    else if (/^[0-9a-f-]{4,35}$/i.test(id)) {
      const matches = (await this.all()).filter((s) => s.id.startsWith(id.toLowerCase()));
      share = matches.length === 1 ? matches[0]! : null;
    }
    if (!share) throw new ArchiveError('SHARE_NOT_FOUND', 404, `no share ${id}`, `找不到共享链接 ${id}`);
    return share;
  }

  async get(caller: Caller, id: string): Promise<ShareRow> {
    const p = caller.principal;
    if (!can(p.role, 'share')) throw forbidden('查看共享链接');
    const share = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.shares.byId(id) : null;
    if (!share || !(p.seesUnassigned || share.unitIds.some((u) => p.scope.has(u)))) throw new ArchiveError('SHARE_NOT_FOUND', 404, `no share ${id}`, `找不到共享链接 ${id}`);
    return share;
  }

  async revoke(caller: Caller, id: string, reason: string): Promise<ShareRow> {
    const p = caller.principal;
    await this.get(caller, id);
    if (reason.trim().length < 2) throw invalid(['reason: required']);
    const at = this.now();
    const events = await this.deps.db.transaction(async (tx) => {
      const share = (await this.deps.shares.byId(id, tx, true))!;
      if (share.revokedAt) throw conflict('SHARE_REVOKED', `share ${id} was revoked at ${share.revokedAt.toISOString()}`, '该共享链接已撤销');
      await this.deps.shares.revoke(tx, id, { at, by: p.name, reason: reason.trim() });
      const out: CustodyEvent[] = [];
      for (const i of share.items) {
        out.push(
          await this.deps.ledger.append(tx, {
            type: 'SHARE_REVOKED',
            actor: actorOf(p),
            evidenceId: i.evidenceId,
            details: { shareId: id, recipient: share.recipient, revokedAt: at.toISOString(), revokedBy: p.name, reason: reason.trim(), wasState: shareState(share, at) },
          }),
        );
      }
      return out;
    });
    await this.deps.ledger.mirror(events);
    log.info({ shareId: id, by: p.name }, 'share revoked');
    return (await this.deps.shares.byId(id))!;
  }

  /** Whether a token's hash names a share, revoked and expired ones included (the public routes' rate limit counts the others). */
  known(tokenSha256: string): Promise<boolean> {
    return this.deps.shares.tokenKnown(tokenSha256);
  }

  /**
   * The share a token opens, for the public routes: 404 for a token that names none (the
   * caller learns nothing), 410 for one that was revoked or has expired.
   */
  async open(token: string): Promise<ShareRow> {
    const share = TOKEN_PATTERN.test(token) ? await this.deps.shares.byTokenHash(tokenHash(token)) : null;
    if (!share) throw new ArchiveError('SHARE_NOT_FOUND', 404, 'this share link does not exist', '共享链接不存在');
    const state = shareState(share, this.now());
    if (state === 'revoked') throw new ArchiveError('SHARE_GONE', 410, 'this share link was revoked by the archive; ask the sender for a new one', '该共享链接已被撤销，如需查看请联系提供方');
    if (state === 'expired') throw new ArchiveError('SHARE_GONE', 410, `this share link expired at ${share.expiresAt.toISOString()}; ask the sender for a new one`, '该共享链接已过期，如需查看请联系提供方');
    return share;
  }

  /** One item of an open share, and its access record. `download` only where the share allows it. */
  async access(share: ShareRow, evidenceId: string, action: 'view' | 'play' | 'download', from: { ip: string | null; userAgent: string | null }, log = true): Promise<ShareItemRow> {
    const item = share.items.find((i) => i.evidenceId === evidenceId);
    if (!item) throw new ArchiveError('SHARE_ITEM_NOT_FOUND', 404, 'this share holds no such item', '该共享中没有这件记录');
    if (action === 'download' && share.mode !== 'download') throw new ArchiveError('SHARE_VIEW_ONLY', 403, 'this share is for viewing only', '该共享仅供在线查看，不可下载');
    if (log) await this.deps.access.recordShared(share, { action, evidenceId }, from);
    return item;
  }

  /** What a recipient sees of the shared items (no officer, recorder, path or unit). */
  async recipientView(share: ShareRow, from: { ip: string | null; userAgent: string | null }) {
    const items = [];
    for (const i of share.items) {
      const e = await this.deps.catalog.getEvidence(i.evidenceId);
      await this.deps.access.recordShared(share, { action: 'view', evidenceId: i.evidenceId }, from);
      items.push({
        evidenceId: i.evidenceId,
        mediaType: e?.mediaType ?? 'other',
        captureStart: e?.captureStart?.toISOString() ?? null,
        durationSeconds: e?.media?.durationSeconds ?? null,
        contentType: i.contentType,
        size: i.copySize,
        sha256: i.copySha256,
        originalSha256: i.sha256,
        watermarked: i.watermarkLines !== null,
      });
    }
    return { recipient: share.recipient, caseNumber: share.caseNumber, mode: share.mode, expiresAt: share.expiresAt.toISOString(), items };
  }

  /** The receipt's content: the share, the approval and the items with both hashes. */
  async receipt(share: ShareRow): Promise<ShareReceiptInput> {
    const approval = share.approvalId ? await this.deps.requests.request(share.approvalId) : null;
    const items = [];
    for (const i of share.items) {
      const e = await this.deps.catalog.getEvidence(i.evidenceId);
      items.push({ ...i, originalName: e?.originalName ?? i.evidenceId, captureStart: e?.captureStart?.toISOString() ?? null });
    }
    return {
      share: { ...share, createdAt: share.createdAt.toISOString(), expiresAt: share.expiresAt.toISOString(), revokedAt: share.revokedAt?.toISOString() ?? null },
      state: shareState(share, this.now()),
      approval: approval
        ? { id: approval.id, requester: approval.principalName, actions: approval.actions, purpose: approval.purpose, decidedBy: approval.decidedBy, reason: approval.reason, expiresAt: approval.expiresAt?.toISOString() ?? null }
        : null,
      items,
      printedAt: this.now().toISOString(),
    };
  }

  private async itemsOf(r: ShareRequest): Promise<EvidenceRow[]> {
    if (r.caseNumber) {
      const items = await this.deps.catalog.search({ caseNumber: r.caseNumber, limit: MAX_SHARE_ITEMS + 1 });
      if (items.length === 0) throw notFound('case', r.caseNumber);
      if (items.length > MAX_SHARE_ITEMS) throw invalid([`case ${r.caseNumber} holds more than ${MAX_SHARE_ITEMS} items: share them in parts`]);
      return items.sort((a, b) => (a.captureStart?.getTime() ?? 0) - (b.captureStart?.getTime() ?? 0) || a.id.localeCompare(b.id));
    }
    const items: EvidenceRow[] = [];
    for (const id of new Set(r.evidenceIds ?? [])) {
      const item = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.catalog.getEvidence(id) : null;
      if (!item) throw notFound('evidence', id);
      items.push(item);
    }
    return items;
  }

  private async discard(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.deps.objects.remove('derivatives', key).catch((e: Error) => log.warn({ key, err: e.message }, 'could not remove the copy of a share that was not made'));
    }
  }
}
