import { canonicalJson, GENESIS_HASH, sealEvent, type CustodyEvent, type CustodyEventInput } from '../../storage/custody-chain.ts';
import { eventObjectKey, keyObjectKey } from '../../storage/custody-ledger.service.ts';
import type { WorkstationKey } from '../../storage/ledger-key.store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { Database, Queryable } from '../../storage/postgres.database.ts';

// The lock the ledger took before it became a Merkle log (issue 19).
const LEGACY_LEDGER_LOCK = 0x6c656467;

/**
 * The custody ledger as evidock wrote it before the Merkle log: one PostgreSQL advisory lock
 * around every append, seq = last + 1 and prevHash = the last event's hash, the event
 * mirrored write-once after COMMIT. Kept to write ledgers the way old workstations left
 * them (the migration test) and as the baseline of the bench's ledger section.
 */
export class LegacyLedgerWriter {
  constructor(
    private readonly db: Database,
    private readonly objects: Pick<ObjectStore, 'putDocument'>,
    private readonly key: WorkstationKey,
    private readonly workstationId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async registerKey(): Promise<void> {
    await this.objects.putDocument('ledger', keyObjectKey(this.key.keyId), Buffer.from(this.key.publicKeyPem), 'application/x-pem-file');
    const inserted = await this.db.query('INSERT INTO ledger_keys (key_id, workstation_id, public_key_pem) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING', [
      this.key.keyId,
      this.workstationId,
      this.key.publicKeyPem,
    ]);
    if (inserted.rowCount === 1) {
      await this.record({ type: 'KEY_REGISTERED', actor: { kind: 'workstation', id: this.workstationId }, details: { keyId: this.key.keyId, algorithm: 'Ed25519', publicKeyPem: this.key.publicKeyPem } });
    }
  }

  async append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LEGACY_LEDGER_LOCK]);
    const last = await tx.query<{ seq: string; hash: string }>('SELECT seq, hash FROM custody_events ORDER BY seq DESC LIMIT 1');
    const prev = last.rows[0];
    const event = sealEvent(
      {
        seq: prev ? Number(prev.seq) + 1 : 1,
        at: this.now().toISOString(),
        workstationId: this.workstationId,
        type: input.type,
        actor: input.actor,
        evidenceId: input.evidenceId ?? null,
        sessionId: input.sessionId ?? null,
        fileId: input.fileId ?? null,
        details: input.details,
        prevHash: prev ? prev.hash : GENESIS_HASH,
        keyId: this.key.keyId,
      },
      this.key.privateKey,
    );
    await tx.query(
      `INSERT INTO custody_events (seq, at, at_text, workstation_id, type, actor_kind, actor_id, evidence_id, session_id, file_id, details, prev_hash, key_id, hash, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        event.seq,
        event.at,
        event.at,
        event.workstationId,
        event.type,
        event.actor.kind,
        event.actor.id,
        event.evidenceId,
        event.sessionId,
        event.fileId,
        JSON.stringify(event.details),
        event.prevHash,
        event.keyId,
        event.hash,
        event.signature,
      ],
    );
    return event;
  }

  async record(input: CustodyEventInput): Promise<CustodyEvent> {
    const event = await this.db.transaction((tx) => this.append(tx, input));
    await this.objects.putDocument('ledger', eventObjectKey(event.seq), Buffer.from(canonicalJson(event)), 'application/json');
    return event;
  }
}
