import type { CatalogImage } from '../archive/catalog-projection.ts';
import type { RebuiltTree } from '../archive/reindex.service.ts';
import type { CustodyEvent, JsonValue } from './custody-chain.ts';
import type { Queryable } from './postgres.database.ts';

/**
 * Writes what `evidock reindex` rebuilt into an empty, migrated catalog: each table in
 * batches of JSON rows expanded by `json_populate_recordset`, so one round trip carries
 * thousands of rows and the column types (arrays, jsonb, timestamps) are PostgreSQL's.
 */
const BATCH = 2000;

type Row = { [column: string]: JsonValue | Date | undefined };

async function insertRows(tx: Queryable, table: string, rows: readonly Row[], conflict = ''): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    const columns = Object.keys(chunk[0]!);
    const list = columns.join(', ');
    await tx.query(`INSERT INTO ${table} (${list}) SELECT ${list} FROM json_populate_recordset(null::${table}, $1::json) ${conflict}`, [JSON.stringify(chunk)]);
  }
}

const hex = (text: string): string => `\\x${Buffer.from(text, 'utf8').toString('hex')}`;
const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

/** The ledger itself, verbatim (the events as the write-once bucket holds them). */
export async function writeLedger(
  tx: Queryable,
  keys: ReadonlyArray<{ keyId: string; workstationId: string; pem: string; at: string }>,
  events: readonly CustodyEvent[],
  leafIndexes: ReadonlyMap<number, number>,
): Promise<void> {
  if (keys.length > 0) {
    await insertRows(
      tx,
      'ledger_keys',
      keys.map((k) => ({ key_id: k.keyId, workstation_id: k.workstationId, public_key_pem: k.pem, created_at: k.at })),
      'ON CONFLICT (key_id) DO NOTHING',
    );
  }
  if (events.length === 0) return;
  await insertRows(
    tx,
    'custody_events',
    events.map((e) => ({
      seq: e.seq,
      at: e.at,
      at_text: e.at,
      workstation_id: e.workstationId,
      type: e.type,
      actor_kind: e.actor.kind,
      actor_id: e.actor.id,
      evidence_id: e.evidenceId,
      session_id: e.sessionId,
      file_id: e.fileId,
      details: e.details,
      prev_hash: e.prevHash,
      key_id: e.keyId,
      hash: e.hash,
      signature: e.signature,
      leaf_index: leafIndexes.get(e.seq) ?? null,
    })),
  );
}

/** The Merkle tree's stored subtrees and signed checkpoints, as the bucket proved them; new seqs continue after the last event. */
export async function writeLedgerTree(tx: Queryable, tree: RebuiltTree, lastSeq: number): Promise<void> {
  if (tree.nodes.length > 0) await insertRows(tx, 'ledger_tree_nodes', tree.nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash })));
  if (tree.checkpoints.length > 0) {
    await insertRows(
      tx,
      'ledger_checkpoints',
      tree.checkpoints.map((c) => ({ tree_size: c.treeSize, root_hash: c.rootHash, at_text: c.timestamp, key_id: c.keyId, signature: c.signature })),
    );
  }
  await tx.query("SELECT setval('custody_event_seq', $1::bigint + 1, false)", [lastSeq]);
}

/** Access-log records as their seal's attachment holds them, with their original ids. */
export async function writeAccessRecords(tx: Queryable, sealedSeq: number, records: readonly { [k: string]: JsonValue }[]): Promise<void> {
  if (records.length === 0) return;
  await insertRows(
    tx,
    'access_log',
    records.map((r) => ({
      id: r.id,
      at: r.at,
      principal_kind: r.principalKind,
      principal_id: r.principalId,
      principal_name: r.principalName,
      role: r.role,
      unit_ids: r.unitIds,
      action: r.action,
      evidence_id: r.evidenceId,
      evidence_ids: r.evidenceIds,
      case_number: r.caseNumber,
      purpose: r.purpose,
      approval_id: r.approvalId,
      ip: r.ip,
      user_agent: r.userAgent,
      sealed_seq: sealedSeq,
    })),
  );
}

/** Every table of the image, parents before children; then the sequences past the ids written. */
export async function writeCatalogImage(tx: Queryable, img: CatalogImage, options: { actionMarginMinutes: number }): Promise<void> {
  await insertRows(
    tx,
    'units',
    orderUnits(img).map((u) => ({ id: u.id, name: u.name, parent_id: u.parentId, path: unitPath(img, u.id), created_at: iso(u.createdAt) })),
  );
  await insertRows(
    tx,
    'recorders',
    [...img.recorders.values()].map((r) => ({
      serial: r.serial,
      vendor: r.vendor,
      model: r.model,
      officer_id: r.officerId,
      officer_name: r.officerName,
      unit_id: r.unitId,
      unit_name: r.unitName,
      registered: r.registered,
      registered_by: r.registeredBy,
      registered_at: iso(r.registeredAt),
      removed_at: iso(r.removedAt),
      first_seen_at: iso(r.firstSeenAt),
      last_seen_at: iso(r.lastSeenAt),
    })),
  );
  const users = [...img.users.values()];
  await insertRows(
    tx,
    'users',
    users.map((u) => ({
      id: u.id,
      name: u.name,
      display_name: u.displayName,
      role: u.role,
      officer_id: u.officerId,
      // The ledger never holds a password hash: this one matches no password, so the user
      // logs in only after an administrator sets a new one (evidock user passwd).
      password_hash: '!reindexed',
      must_change_password: true,
      disabled_at: iso(u.disabledAt),
      created_at: iso(u.createdAt),
    })),
  );
  const keys = [...img.apiKeys.values()];
  await insertRows(
    tx,
    'api_keys',
    keys.map((k) => ({
      id: k.id,
      name: k.name,
      role: k.role,
      // Without its hash a key cannot be checked: revoked, to be issued again.
      secret_hash: k.secretHash ?? '0'.repeat(64),
      created_by: k.createdBy,
      created_at: iso(k.createdAt),
      revoked_at: iso(k.revokedAt ?? (k.secretHash ? null : k.createdAt)),
    })),
  );
  const known = new Set(img.units.keys());
  await insertRows(tx, 'principal_units', [
    ...users.flatMap((u) => u.unitIds.filter((id) => known.has(id)).map((unit) => ({ principal_kind: 'user', principal_id: u.id, unit_id: unit }))),
    ...keys.flatMap((k) => k.unitIds.filter((id) => known.has(id)).map((unit) => ({ principal_kind: 'key', principal_id: k.id, unit_id: unit }))),
  ]);
  await insertRows(
    tx,
    'dock_sessions',
    [...img.sessions.values()].map((s) => ({
      id: s.id,
      workstation_id: s.workstationId,
      recorder_serial: s.recorderSerial,
      driver: s.driver,
      mount_path: s.mountPath,
      identity: s.identity,
      defaults: s.defaults,
      clock_offset_ms: s.clockOffsetMs,
      status: s.status,
      file_count: s.fileCount,
      skipped: s.skipped,
      gaps: s.gaps,
      started_at: iso(s.startedAt),
      acquired_at: null,
      finished_at: iso(s.finishedAt),
      undocked_at: iso(s.undockedAt),
    })),
  );
  await insertRows(
    tx,
    'session_files',
    [...img.files.values()]
      .filter((f) => img.sessions.has(f.sessionId))
      .map((f) => ({
        id: f.id,
        session_id: f.sessionId,
        recorder_serial: f.recorderSerial,
        raw_path: hex(f.displayPath),
        display_path: f.displayPath,
        size: f.size,
        mtime_ms: 0,
        kind: f.kind,
        // Not the acquisition fingerprint (the file's mtime is not in the ledger): a docking
        // of the same file again is ingested again and found to be a duplicate by its hash.
        fingerprint: `reindexed:${f.id}`,
        stage: f.stage,
        bytes_acquired: f.size,
        sha256: f.sha256,
        sm3: f.sm3,
        evidence_id: f.evidenceId,
        duplicate: f.duplicate,
        error: f.error,
        acquired_at: iso(f.acquiredAt),
        stored_at: iso(f.storedAt),
        verified_at: iso(f.verifiedAt),
        recorded_at: iso(f.recordedAt),
        cleared_at: iso(f.clearedAt),
        updated_at: iso(f.updatedAt),
      })),
  );
  await insertRows(
    tx,
    'evidence',
    [...img.evidence.values()].map((e) => ({
      id: e.id,
      sha256: e.sha256,
      sm3: e.sm3,
      size: e.size,
      media_type: e.mediaType,
      object_key: e.objectKey,
      object_version: e.objectVersion,
      object_etag: e.objectEtag,
      original_name: e.originalName,
      original_path: e.originalPath,
      recorder_serial: e.recorderSerial,
      officer_id: e.officerId,
      officer_name: e.officerName,
      unit_id: e.unitId,
      case_numbers: e.caseNumbers,
      subject: e.subject,
      place: e.place,
      capture_start: iso(e.captureStart),
      capture_end: iso(e.captureEnd),
      capture_time_source: e.captureTimeSource,
      first_session_id: e.firstSessionId,
      acquired_at: iso(e.acquiredAt),
      verified_at: iso(e.verifiedAt),
      recorded_at: iso(e.recordedAt),
      transfer_delay_seconds: e.transferDelaySeconds,
      transfer_deadline: iso(e.transferDeadline),
      transfer_late: e.transferLate,
      flags: e.flags,
      media_status: e.media.status,
      media_problem: e.media.problem,
      duration_seconds: e.media.durationSeconds,
      container: e.media.container,
      video_codec: e.media.videoCodec,
      audio_codec: e.media.audioCodec,
      width: e.media.width,
      height: e.media.height,
      frame_rate: e.media.frameRate,
      rotation: e.media.rotation,
      gps_latitude: e.media.gpsLatitude,
      gps_longitude: e.media.gpsLongitude,
      device_make: e.media.deviceMake,
      device_model: e.media.deviceModel,
      device_serial: e.media.deviceSerial,
    })),
  );
  await insertRows(
    tx,
    'derivatives',
    img.derivatives
      .filter((d) => img.evidence.has(d.evidenceId))
      .map((d) => ({
        id: d.id,
        evidence_id: d.evidenceId,
        kind: d.kind,
        object_key: d.objectKey,
        content_type: d.contentType,
        sha256: d.sha256,
        size: d.size,
        partial: d.partial,
        width: d.width,
        height: d.height,
        duration_seconds: d.durationSeconds,
        tool: d.tool,
        tool_version: d.toolVersion,
        arguments: d.arguments as JsonValue,
        created_at: iso(d.createdAt),
      })),
  );
  await insertRows(
    tx,
    'cases',
    [...img.cases.values()].map((c) => ({
      case_number: c.caseNumber,
      unit_id: c.unitId,
      created_at: iso(c.createdAt),
      ended_at: iso(c.endedAt),
      archived_at: iso(c.archivedAt),
      state: c.state,
      major: c.major,
      legal_hold: c.legalHold,
      hold_reason: c.holdReason,
      archive_key: c.archiveKey,
    })),
  );
  await insertRows(
    tx,
    'case_actions',
    img.actions.map((a) => ({
      id: a.id,
      case_number: a.caseNumber,
      officer_ids: a.officerIds,
      starts_at: iso(a.startsAt),
      ends_at: iso(a.endsAt),
      subject: a.subject,
      place: a.place,
      created_by: a.createdBy,
      created_at: iso(a.createdAt),
    })),
  );
  // Suggestions are a computation (an action's window against recordings), made again the
  // way CaseService makes them; the decisions taken on them are events.
  await tx.query(
    `INSERT INTO action_matches (action_id, evidence_id, created_at)
     SELECT a.id, e.id, greatest(a.created_at, e.recorded_at) FROM case_actions a JOIN evidence e
         ON e.officer_id = ANY(a.officer_ids) AND e.capture_start IS NOT NULL
        AND a.starts_at - make_interval(mins => $1) < coalesce(e.capture_end, e.capture_start)
        AND a.ends_at + make_interval(mins => $1) > e.capture_start
     ON CONFLICT DO NOTHING`,
    [options.actionMarginMinutes],
  );
  for (const m of img.matchDecisions) {
    await tx.query(
      `INSERT INTO action_matches (action_id, evidence_id, state, decided_by, decided_at, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $5)
       ON CONFLICT (action_id, evidence_id) DO UPDATE SET state = EXCLUDED.state, decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at, reason = EXCLUDED.reason`,
      [m.actionId, m.evidenceId, m.state, m.decidedBy, m.decidedAt, m.reason],
    );
  }
  await insertRows(
    tx,
    'documents',
    img.documents
      .filter((d) => img.cases.has(d.caseNumber))
      .map((d) => ({
        id: d.id,
        case_number: d.caseNumber,
        sha256: d.sha256,
        size: d.size,
        content_type: d.contentType,
        original_name: d.originalName,
        object_key: d.objectKey,
        object_etag: d.objectEtag,
        unit_id: d.unitId,
        uploaded_by: d.uploadedBy,
        created_at: iso(d.createdAt),
        retain_until: iso(d.retainUntil),
      })),
  );
  const principals = new Map<string, { kind: string; id: string }>();
  for (const u of users) principals.set(u.name, { kind: 'user', id: u.id });
  for (const k of keys) if (!principals.has(k.name)) principals.set(k.name, { kind: 'key', id: k.id });
  await insertRows(
    tx,
    'access_requests',
    [...img.accessRequests.values()].map((r) => {
      const who = principals.get(r.principalName);
      return {
        id: r.id,
        principal_kind: who?.kind ?? 'user',
        principal_id: who?.id ?? '00000000-0000-0000-0000-000000000000',
        principal_name: r.principalName,
        evidence_id: r.evidenceId,
        case_number: r.evidenceId ? null : r.caseNumber,
        actions: r.actions,
        purpose: r.purpose,
        state: r.state,
        decided_by: r.decidedBy,
        decided_at: iso(r.decidedAt),
        reason: r.reason,
        expires_at: iso(r.expiresAt),
        created_at: iso(r.createdAt),
      };
    }),
  );
  await insertRows(
    tx,
    'evidence_retention',
    [...img.retention.values()]
      .filter((r) => img.evidence.has(r.evidenceId))
      .map((r) => ({
        evidence_id: r.evidenceId,
        class: r.class,
        retain_until: iso(r.retainUntil),
        legal_hold: r.legalHold,
        hold_reason: r.holdReason,
        updated_at: iso(r.updatedAt),
      })),
  );
  await insertRows(
    tx,
    'purge_runs',
    [...img.purgeRuns.values()].map((p) => ({
      id: p.id,
      status: p.status,
      reason: p.reason,
      proposed_by: p.proposedBy,
      proposed_at: iso(p.proposedAt),
      decided_by: p.decidedBy,
      decided_at: iso(p.decidedAt),
      finished_at: iso(p.status === 'done' ? p.finishedAt : null),
      evidence_ids: p.evidenceIds,
    })),
  );
  await insertRows(
    tx,
    'evidence_tombstones',
    img.tombstones
      .filter((t) => img.evidence.has(t.evidenceId) && img.purgeRuns.has(t.purgeRunId))
      .map((t) => ({ evidence_id: t.evidenceId, purge_run_id: t.purgeRunId, sha256: t.sha256, size: t.size, approved_by: t.approvedBy, purged_at: iso(t.purgedAt) })),
  );
  await insertRows(
    tx,
    'redaction_projects',
    [...img.redactionProjects.values()].filter((r) => img.evidence.has(r.evidenceId)).map((r) => ({ id: r.id, evidence_id: r.evidenceId, created_by: r.createdBy, created_at: iso(r.createdAt) })),
  );
  await insertRows(
    tx,
    'redaction_versions',
    img.redactionVersions
      .filter((v) => img.redactionProjects.has(v.projectId) && img.evidence.has(v.evidenceId))
      .map((v) => ({ project_id: v.projectId, version: v.version, spec: v.spec as unknown as JsonValue, author: v.author, note: v.note, saved_at: iso(v.savedAt), event_seq: v.eventSeq })),
  );
  const runs = [...img.suggestionRuns.values()].filter((r) => img.evidence.has(r.evidenceId));
  await insertRows(
    tx,
    'redaction_suggestion_runs',
    runs.map((r) => ({
      id: r.id,
      evidence_id: r.evidenceId,
      requested_by: r.requestedBy,
      requested_at: iso(r.requestedAt),
      status: r.status,
      model: r.model,
      frames_per_second: r.framesPerSecond,
      frame_count: r.frameCount,
      warning: r.warning,
      finished_at: iso(r.finishedAt),
      event_seq: r.eventSeq,
    })),
  );
  await insertRows(
    tx,
    'redaction_suggestions',
    runs.flatMap((r) =>
      r.suggestions.map((s) => ({
        run_id: r.id,
        n: s.n,
        box: s.box as unknown as JsonValue,
        detections: s.detections,
        mean_score: s.meanScore,
        decision: s.decision,
        decided_by: s.decidedBy,
        decided_at: iso(s.decidedAt),
        // An accepted box names its version only when that project was rebuilt too.
        project_id: s.projectId && img.redactionProjects.has(s.projectId) ? s.projectId : null,
        version: s.projectId && img.redactionProjects.has(s.projectId) ? s.version : null,
        decision_event_seq: s.decisionEventSeq,
      })),
    ),
  );
  const shares = [...img.shares.values()].filter((sh) => sh.items.every((i) => img.evidence.has(i.evidenceId)));
  await insertRows(
    tx,
    'shares',
    shares.map((sh) => ({
      id: sh.id,
      token_sha256: sh.tokenSha256,
      recipient: sh.recipient,
      case_number: sh.caseNumber,
      mode: sh.mode,
      watermark: sh.watermark,
      approval_id: sh.approvalId,
      authorized_by: sh.authorizedBy,
      purpose: sh.purpose,
      created_by: sh.createdBy,
      unit_ids: sh.unitIds,
      created_at: iso(sh.createdAt),
      expires_at: iso(sh.expiresAt),
      revoked_at: iso(sh.revokedAt),
      revoked_by: sh.revokedBy,
      revoke_reason: sh.revokeReason,
    })),
  );
  await insertRows(
    tx,
    'share_items',
    shares.flatMap((sh) =>
      sh.items.map((i) => ({
        share_id: sh.id,
        position: i.position,
        evidence_id: i.evidenceId,
        sha256: i.sha256,
        copy_kind: i.copyKind,
        copy_key: i.copyKey,
        copy_sha256: i.copySha256,
        copy_size: i.copySize,
        content_type: i.contentType,
        watermark_lines: i.watermarkLines,
      })),
    ),
  );
  await tx.query(`SELECT setval(pg_get_serial_sequence('access_log', 'id'), greatest((SELECT max(id) FROM access_log), 1))`);
}

function orderUnits(img: CatalogImage): CatalogImage['units'] extends Map<string, infer U> ? U[] : never {
  const out: Array<CatalogImage['units'] extends Map<string, infer U> ? U : never> = [];
  const placed = new Set<string>();
  const place = (id: string, depth = 0): void => {
    const u = img.units.get(id);
    if (!u || placed.has(id) || depth > 64) return;
    if (u.parentId) place(u.parentId, depth + 1);
    placed.add(id);
    out.push(u);
  };
  for (const id of img.units.keys()) place(id);
  return out;
}

function unitPath(img: CatalogImage, id: string): string {
  const chain: string[] = [];
  for (let u = img.units.get(id), n = 0; u && n < 64; u = u.parentId ? img.units.get(u.parentId) : undefined, n++) chain.unshift(u.id);
  return `/${chain.join('/')}/`;
}
