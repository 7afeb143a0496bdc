import type { CatalogRepository, DerivativeRow, EvidenceRow, SearchFilter } from '../storage/catalog.repository.ts';
import type { CustodyEvent, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { Database } from '../storage/postgres.database.ts';
import { FIELD_FLAGS } from '../workers/docking-link.ts';

export class EvidenceNotFoundError extends Error {
  constructor(readonly id: string, readonly ambiguous = false) {
    super(ambiguous ? `evidence id ${id} is ambiguous` : `no evidence ${id}`);
    this.name = 'EvidenceNotFoundError';
  }
}

export interface TagPatch {
  caseNumbers?: string[];
  subject?: string;
  place?: string;
  officerId?: string;
}


/** What custodians and case systems ask of the catalog: find, show, tag. */
export class EvidenceService {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogRepository,
    private readonly ledger: CustodyLedger,
  ) {}

  search(filter: SearchFilter): Promise<EvidenceRow[]> {
    return this.catalog.search(filter);
  }

  /** Accepts a full id or a unique prefix (custodians read ids off a screen). */
  async find(id: string): Promise<EvidenceRow> {
    const exact = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? await this.catalog.getEvidence(id.toLowerCase()) : null;
    if (exact) return exact;
    const matches = await this.catalog.findEvidenceByPrefix(id);
    if (matches.length === 1) return matches[0]!;
    throw new EvidenceNotFoundError(id, matches.length > 1);
  }

  async show(id: string): Promise<{ evidence: EvidenceRow; events: CustodyEvent[]; derivatives: DerivativeRow[] }> {
    const evidence = await this.find(id);
    return {
      evidence,
      events: await this.ledger.eventsFor({ evidenceId: evidence.id }),
      derivatives: await this.catalog.derivativesOf(evidence.id),
    };
  }

  /** Tags change only through a TAGGED custody event that records before and after. */
  async tag(id: string, patch: TagPatch, by: string): Promise<{ evidence: EvidenceRow; event: CustodyEvent }> {
    const target = await this.find(id);
    const event = await this.db.transaction(async (tx) => {
      const current = (await tx.query('SELECT id FROM evidence WHERE id = $1 FOR UPDATE', [target.id])).rows[0];
      if (!current) throw new EvidenceNotFoundError(id);
      const row = (await this.catalog.getEvidence(target.id, tx))!;
      const before: { [k: string]: JsonValue } = {};
      const after: { [k: string]: JsonValue } = {};
      let flags = row.flags;
      for (const key of Object.keys(patch) as Array<keyof TagPatch>) {
        const value = patch[key];
        if (value === undefined) continue;
        const existing = key === 'caseNumbers' ? row.caseNumbers : row[key];
        before[key] = existing as JsonValue;
        after[key] = value as JsonValue;
        const filled = Array.isArray(value) ? value.length > 0 : value.length > 0;
        if (filled) flags = flags.filter((f) => f !== FIELD_FLAGS[key]);
      }
      await this.catalog.updateEvidenceTags(tx, row.id, { ...patch, flags });
      return this.ledger.append(tx, {
        type: 'TAGGED',
        actor: { kind: 'user', id: by },
        evidenceId: row.id,
        details: { before, after, by },
      });
    });
    await this.ledger.mirror([event]);
    return { evidence: (await this.catalog.getEvidence(target.id))!, event };
  }
}
