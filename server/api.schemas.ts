import { Type, type Static, type TSchema } from 'typebox';
import { MAX_RECIPIENT_LENGTH } from '../archive/watermark-text.ts';

/**
 * The archive API's request and response schemas: Fastify validates with them, serializes
 * with them, and @fastify/swagger turns them into the OpenAPI document. One place.
 */

const time = Type.String({ format: 'date-time' });
const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const id = Type.String({ format: 'uuid' });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. EVIDENCE_NOT_FOUND.' }),
      message: Type.String(),
      messageZh: Type.String(),
      problems: Type.Optional(Type.Array(Type.String(), { description: 'Every problem with the request (400).' })),
      retryAfterSeconds: Type.Optional(Type.Integer()),
      dependency: Type.Optional(Type.String({ description: 'The server that did not answer (503): postgres, redis or minio.' })),
    }),
  },
  { $id: 'Error', title: 'Error' },
);

export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));

export const FIVE_FIELDS = ['caseNumber', 'captureTime', 'place', 'collector', 'subject'] as const;

export const EvidenceItem = Type.Object(
  {
    evidenceId: id,
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    sm3: nullable(Type.String()),
    size: Type.Integer({ minimum: 0 }),
    mediaType: Type.String(),
    mediaStatus: Type.String(),
    durationSeconds: nullable(Type.Number()),
    originalName: Type.String(),
    caseNumbers: Type.Array(Type.String()),
    capturedAt: nullable(time),
    capturedUntil: nullable(time),
    captureTimeSource: nullable(Type.String()),
    place: nullable(Type.String()),
    collector: Type.Object({ officerId: nullable(Type.String()), name: nullable(Type.String()) }),
    subject: nullable(Type.String()),
    unit: nullable(Type.String()),
    recorderSerial: Type.String(),
    missing: Type.Array(Type.Union([Type.Literal('caseNumber'), Type.Literal('captureTime'), Type.Literal('place'), Type.Literal('collector'), Type.Literal('subject')]), {
      description: 'Which of the five required fields are empty.',
    }),
    flags: Type.Array(Type.String()),
    recordedAt: time,
    transferLate: nullable(Type.Boolean()),
    thumbnailUrl: nullable(Type.String()),
  },
  { $id: 'EvidenceItem', title: 'EvidenceItem' },
);

export const EvidencePage = Type.Object({ items: Type.Array(Type.Ref('EvidenceItem')), next: nullable(Type.String()) });

export const SearchQuery = Type.Object(
  {
    case: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    officer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    unit: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    place: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    from: Type.Optional(time),
    to: Type.Optional(time),
    mediaType: Type.Optional(Type.Union([Type.Literal('video'), Type.Literal('audio'), Type.Literal('photo'), Type.Literal('other')])),
    flag: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    late: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const CustodyEventItem = Type.Object(
  {
    seq: Type.Integer(),
    at: time,
    type: Type.String(),
    workstationId: Type.String(),
    actor: Type.Object({ kind: Type.String(), id: Type.String() }),
    evidenceId: nullable(Type.String()),
    sessionId: nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown()),
    hash: Type.String(),
    prevHash: nullable(Type.String()),
    keyId: Type.String(),
    signature: Type.String(),
  },
  { $id: 'CustodyEvent', title: 'CustodyEvent' },
);

export const Derivative = Type.Object({
  kind: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  partial: Type.Boolean(),
  width: nullable(Type.Integer()),
  height: nullable(Type.Integer()),
  durationSeconds: nullable(Type.Number()),
  url: Type.String(),
  storyboard: nullable(
    Type.Object(
      { columns: Type.Integer(), rows: Type.Integer(), frames: Type.Integer(), tileWidth: Type.Integer(), tileHeight: Type.Integer(), intervalSeconds: Type.Number() },
      { description: 'Geometry of a storyboard sprite: frame n (every intervalSeconds from 0) is at column n % columns, row ⌊n / columns⌋.' },
    ),
  ),
});

const permission = Type.Union([Type.Literal('allow'), Type.Literal('approval'), Type.Literal('deny')]);

export const EvidenceDetail = Type.Object({
  item: Type.Ref('EvidenceItem'),
  derivatives: Type.Array(Derivative),
  verification: Type.Object({ verifiedAt: time, lastFixityCheck: nullable(Type.Object({ at: time, ok: Type.Boolean() })) }),
  media: Type.Object({
    container: nullable(Type.String()),
    videoCodec: nullable(Type.String()),
    audioCodec: nullable(Type.String()),
    width: nullable(Type.Integer()),
    height: nullable(Type.Integer()),
    frameRate: nullable(Type.Number()),
    device: Type.Object({ make: nullable(Type.String()), model: nullable(Type.String()), serial: nullable(Type.String()) }),
    gps: nullable(Type.Object({ latitude: Type.Number(), longitude: Type.Number() })),
  }),
  may: Type.Object(
    { play: permission, download: permission, export: permission, tag: permission, link: permission, verify: permission },
    { description: "What the caller may do to the item now: allowed, after an approved request, or not at all." },
  ),
  timeline: Type.Array(Type.Ref('CustodyEvent')),
});

export const TagBody = Type.Object(
  {
    caseNumbers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 50 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    place: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    officerId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    reason: Type.String({ minLength: 2, maxLength: 1000, description: 'Why the fields change (kept in the TAGGED event).' }),
  },
  { additionalProperties: false },
);

export const Verification = Type.Object({ evidenceId: id, ok: Type.Boolean(), rehashed: Type.Boolean(), problems: Type.Array(Type.String()), at: time });

/** An evidence id, or a unique prefix of one (custodians read ids off a screen). */
export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
/** Ids that are always whole UUIDs (requests, keys, webhooks). */
export const UuidParam = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const CaseParam = Type.Object({ caseNumber: Type.String({ minLength: 1, maxLength: 128 }) });

export const LinkBody = Type.Object(
  { evidenceIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000 }), reason: Type.Optional(Type.String({ minLength: 2, maxLength: 1000 })) },
  { additionalProperties: false },
);
export const UnlinkBody = Type.Object(
  { evidenceIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000 }), reason: Type.String({ minLength: 2, maxLength: 1000 }) },
  { additionalProperties: false },
);
export const ExportBody = Type.Object(
  {
    reason: Type.String({ minLength: 2, maxLength: 1000, description: 'Why the copy is made (审批事由), in the EXPORTED events and the access log' }),
    withProxies: Type.Optional(Type.Boolean({ default: false, description: 'Add the playback proxies beside the originals' })),
    watermark: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_RECIPIENT_LENGTH,
        description:
          'A party granted a copy (水印接收方): copies of the video proxies with the case number, this recipient and the date burned in are added under data/watermarked/ (implies withProxies); the originals are never watermarked. Named in the EXPORTED events',
      }),
    ),
  },
  { additionalProperties: false },
);
export const LinkResult = Type.Object({ linked: Type.Array(Type.String()), unchanged: Type.Array(Type.String()) });
export const UnlinkResult = Type.Object({ unlinked: Type.Array(Type.String()), unchanged: Type.Array(Type.String()) });

export const Match = Type.Object({ evidenceId: Type.String(), state: Type.String(), decidedBy: nullable(Type.String()), decidedAt: nullable(time), reason: nullable(Type.String()) });
export const Action = Type.Object({
  id: Type.String(),
  officerIds: Type.Array(Type.String()),
  startsAt: time,
  endsAt: time,
  subject: nullable(Type.String()),
  place: nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: time,
  matches: Type.Array(Match),
});
export const Document = Type.Object({
  id: Type.String(),
  name: Type.String(),
  contentType: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  uploadedBy: Type.String(),
  createdAt: time,
  url: Type.String(),
});
export const CaseBody = Type.Object({
  caseNumber: Type.String(),
  createdAt: nullable(time),
  endedAt: nullable(time),
  archivedAt: nullable(time),
  state: Type.Union([Type.Literal('open'), Type.Literal('ended'), Type.Literal('archived')], { description: 'open → ended (the action ended: archive within cases.archiveDays) → archived' }),
  legalHold: Type.Boolean(),
  major: Type.Boolean(),
  archiveBy: Type.Union([time, Type.Null()], { description: 'An ended case: the day it must be archived by (endedAt + cases.archiveDays)' }),
  items: Type.Array(Type.Ref('EvidenceItem')),
  documents: Type.Array(Document),
  actions: Type.Array(Action),
});
export const ActionBody = Type.Object(
  {
    officerIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 50 }),
    startsAt: time,
    endsAt: time,
    subject: Type.Optional(Type.String({ maxLength: 500 })),
    place: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export const ActionCreated = Type.Object({ action: Action, suggested: Type.Array(Type.String()) });
export const MatchDecisionBody = Type.Object({ confirm: Type.Boolean(), reason: Type.Optional(Type.String({ minLength: 2, maxLength: 1000 })) }, { additionalProperties: false });

export const AccessRequestBody = Type.Object(
  {
    evidenceId: Type.Optional(Type.String({ format: 'uuid' })),
    caseNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    actions: Type.Array(Type.Union([Type.Literal('view'), Type.Literal('play'), Type.Literal('download'), Type.Literal('export')]), { minItems: 1, maxItems: 4 }),
    purpose: Type.String({ minLength: 4, maxLength: 1000 }),
  },
  { additionalProperties: false },
);
export const AccessRequest = Type.Object(
  {
    id: Type.String(),
    requester: Type.String(),
    evidenceId: nullable(Type.String()),
    caseNumber: nullable(Type.String()),
    actions: Type.Array(Type.String()),
    purpose: Type.String(),
    state: Type.String(),
    decidedBy: nullable(Type.String()),
    decidedAt: nullable(time),
    reason: nullable(Type.String()),
    expiresAt: nullable(time),
    createdAt: time,
  },
  { $id: 'AccessRequest', title: 'AccessRequest' },
);
export const DecisionBody = Type.Object(
  { approve: Type.Boolean(), reason: Type.String({ minLength: 2, maxLength: 1000 }), expiresAt: Type.Optional(time) },
  { additionalProperties: false },
);
export const AccessRecord = Type.Object({
  id: Type.Integer(),
  at: time,
  principal: Type.String(),
  principalKind: Type.String(),
  role: Type.String(),
  units: Type.Array(Type.String()),
  action: Type.String(),
  evidenceId: nullable(Type.String()),
  evidenceIds: nullable(Type.Array(Type.String())),
  caseNumber: nullable(Type.String()),
  purpose: nullable(Type.String()),
  approvalId: nullable(Type.String()),
  ip: nullable(Type.String()),
  userAgent: nullable(Type.String()),
  sealedSeq: nullable(Type.Integer()),
});
export const AccessLogQuery = Type.Object(
  {
    evidenceId: Type.Optional(Type.String({ format: 'uuid' })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    from: Type.Optional(time),
    to: Type.Optional(time),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'Records older than this id (the next page).' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
export const Me = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  role: Type.String(),
  officerId: nullable(Type.String()),
  units: Type.Array(Type.String()),
  mustChangePassword: Type.Boolean(),
  csrfToken: nullable(Type.String()),
  expiresAt: nullable(time),
});
export const PasswordBody = Type.Object({ current: Type.String({ minLength: 1, maxLength: 256 }), next: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  dependencies: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), ms: nullable(Type.Number()), error: Type.Optional(Type.String()) })),
  unsealedAccessRecords: nullable(Type.Integer()),
});

export const Unit = Type.Object({ id: Type.String(), name: Type.String(), parentId: nullable(Type.String()), path: Type.String() });
export const UnitBody = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), name: Type.String({ minLength: 1, maxLength: 200 }), parentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
export const User = Type.Object({
  name: Type.String(),
  displayName: nullable(Type.String()),
  role: Type.String(),
  officerId: nullable(Type.String()),
  units: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  locked: Type.Boolean(),
  mustChangePassword: Type.Boolean(),
  createdAt: time,
});
export const UserBody = Type.Object(
  {
    name: Type.String({ minLength: 2, maxLength: 64 }),
    displayName: Type.Optional(Type.String({ maxLength: 200 })),
    role: Type.String({ minLength: 1, maxLength: 32 }),
    officerId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    units: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export const UserPatch = Type.Object(
  {
    role: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    officerId: Type.Optional(nullable(Type.String({ minLength: 1, maxLength: 64 }))),
    units: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 })),
    disabled: Type.Optional(Type.Boolean()),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export const NameParam = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  units: Type.Array(Type.String()),
  createdBy: Type.String(),
  createdAt: time,
  revokedAt: nullable(time),
  lastUsedAt: nullable(time),
});
export const ApiKeyBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }), role: Type.String({ minLength: 1, maxLength: 32 }), units: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
);
export const ApiKeyCreated = Type.Object({ id: Type.String(), key: Type.String({ description: 'Shown once: only its hash is kept.' }) });
export const Recorder = Type.Object({
  serial: Type.String(),
  officerId: nullable(Type.String()),
  officerName: nullable(Type.String()),
  unitId: nullable(Type.String()),
  registeredBy: nullable(Type.String()),
  registeredAt: nullable(time),
});
export const RecorderBody = Type.Object(
  {
    serial: Type.String({ minLength: 1, maxLength: 64 }),
    officerId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    officerName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    unitId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export const SerialParam = Type.Object({ serial: Type.String({ minLength: 1, maxLength: 64 }) });

export const Webhook = Type.Object({ id: Type.String(), url: Type.String(), events: Type.Array(Type.String()), units: Type.Array(Type.String()), createdAt: time });
export const WebhookCreated = Type.Object({ ...Webhook.properties, secret: Type.String({ description: 'HMAC-SHA256 key of the signatures; shown once.' }) });
export const WebhookBody = Type.Object(
  { url: Type.String({ minLength: 8, maxLength: 2000 }), events: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 10 }) },
  { additionalProperties: false },
);
export const Delivery = Type.Object({
  id: Type.String(),
  event: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  lastStatus: nullable(Type.Integer()),
  lastError: nullable(Type.String()),
  createdAt: time,
  deliveredAt: nullable(time),
});

export const Dock = Type.Object({
  sessionId: Type.String(),
  workstationId: Type.String(),
  recorderSerial: Type.String(),
  status: Type.String(),
  docked: Type.Boolean(),
  safeToUndock: Type.Boolean(),
  files: Type.Integer(),
  bytes: Type.Integer(),
  bytesAcquired: Type.Integer({ description: 'Bytes read off the recorder so far, of `bytes`.' }),
  stages: Type.Record(Type.String(), Type.Integer()),
  gaps: Type.Integer(),
  startedAt: time,
  acquiredAt: nullable(time),
  finishedAt: nullable(time),
  undockedAt: nullable(time),
  fileList: Type.Array(
    Type.Object({ name: Type.String(), size: Type.Integer(), bytesAcquired: Type.Integer(), stage: Type.String(), duplicate: Type.Boolean(), error: nullable(Type.String()) }),
    { description: 'Each file of a recorder still docked (empty for past dockings).' },
  ),
});

export const ReportQuery = Type.Object(
  {
    quarter: Type.Optional(Type.String({ pattern: '^\\d{4}-Q[1-4]$' })),
    year: Type.Optional(Type.String({ pattern: '^\\d{4}$' })),
    month: Type.Optional(Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' })),
    by: Type.Optional(Type.Union([Type.Literal('unit'), Type.Literal('officer'), Type.Literal('recorder')])),
  },
  { additionalProperties: false },
);

export const LedgerQuery = Type.Object(
  {
    evidenceId: Type.Optional(Type.String({ format: 'uuid' })),
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Position in the log (Merkle leaf index) to start from: 0, or the previous page's `next`. Not a seq: a seq is taken before commit, so events can commit out of seq order",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  },
  { additionalProperties: false },
);

/** A streamed body (media, documents): described for OpenAPI, not serialized. */
export const binary = (description: string, contentType = 'application/octet-stream') =>
  Type.Unsafe<unknown>({ description, content: { [contentType]: { schema: { type: 'string', format: 'binary' } } } });

export const SHARED_SCHEMAS = [ErrorBody, EvidenceItem, CustodyEventItem, AccessRequest];

export type TSearchQuery = Static<typeof SearchQuery>;

// ---- preservation ----------------------------------------------------------------------
const reasonText = Type.String({ minLength: 2, maxLength: 1000, description: 'Why (recorded in the custody event)' });
export const Retention = Type.Object({
  evidenceId: id,
  class: Type.Union([Type.Literal('unlinked'), Type.Literal('case'), Type.Literal('major-case')], { description: 'Retention class: unlinked (days from capture), case (from the case’s archiving), major-case (permanent)' }),
  retainUntil: time,
  legalHold: Type.Boolean(),
  holdReason: Type.Union([Type.String(), Type.Null()]),
});
export const HoldBody = Type.Object({ on: Type.Boolean({ description: 'true sets the legal hold, false releases it' }), reason: reasonText }, { additionalProperties: false });
export const CaseHoldResult = Type.Object({ caseNumber: Type.String(), held: Type.Boolean(), evidenceIds: Type.Array(id) });
export const CaseEndBody = Type.Object({ endedAt: Type.String({ format: 'date-time', description: 'When the enforcement action ended: the 30 days to archive start' }) }, { additionalProperties: false });
export const ReasonBody = Type.Object({ reason: reasonText }, { additionalProperties: false });
export const CaseArchived = Type.Object({ caseNumber: Type.String(), key: Type.String(), exportId: id, size: Type.Integer(), sha256: Type.String(), items: Type.Integer() });
export const CaseState = Type.Object({ caseNumber: Type.String(), state: Type.Union([Type.Literal('open'), Type.Literal('ended'), Type.Literal('archived')]), endedAt: Type.Union([time, Type.Null()]) });
export const Overdue = Type.Object({
  archiveDays: Type.Integer(),
  cases: Type.Array(Type.Object({ caseNumber: Type.String(), endedAt: time, daysLeft: Type.Integer(), pastDue: Type.Boolean() })),
  missingFields: Type.Object({
    graceDays: Type.Integer(),
    byOfficer: Type.Array(Type.Object({ officerId: Type.Union([Type.String(), Type.Null()]), items: Type.Integer(), oldest: Type.Union([time, Type.Null()]) })),
    byUnit: Type.Array(Type.Object({ unitId: Type.Union([Type.String(), Type.Null()]), items: Type.Integer(), oldest: Type.Union([time, Type.Null()]) })),
  }),
});
export const PurgeRun = Type.Object({
  id,
  status: Type.Union([Type.Literal('proposed'), Type.Literal('approved'), Type.Literal('refused'), Type.Literal('done')]),
  reason: Type.String(),
  proposedBy: Type.String(),
  proposedAt: time,
  decidedBy: Type.Union([Type.String(), Type.Null()]),
  decidedAt: Type.Union([time, Type.Null()]),
  finishedAt: Type.Union([time, Type.Null()]),
  evidenceIds: Type.Array(id),
});
export const PurgeRunParam = Type.Object({ runId: id });
export const PurgeDecisionBody = Type.Object({ approve: Type.Boolean(), reason: Type.Optional(reasonText) }, { additionalProperties: false });
export const PurgeResult = Type.Object({
  runId: id,
  purged: Type.Array(id),
  skipped: Type.Array(Type.Object({ evidenceId: id, why: Type.String() })),
  failed: Type.Array(Type.Object({ evidenceId: id, error: Type.String() })),
});
const count2 = Type.Object({ checked: Type.Integer(), total: Type.Integer() });
export const FixityStatus = Type.Object({
  cycle: Type.Union([
    Type.Object({ id: Type.Integer(), startedAt: time, dueAt: time, items: count2, bytes: count2, failed: Type.Integer(), expectedEndAt: Type.Union([time, Type.Null()]), overdue: Type.Boolean() }),
    Type.Null(),
  ]),
  lastCompleted: Type.Union([
    Type.Object({ id: Type.Integer(), startedAt: time, finishedAt: time, items: Type.Integer(), ledger: Type.Object({ ok: Type.Boolean(), events: Type.Integer(), problems: Type.Array(Type.Unknown()) }) }),
    Type.Null(),
  ]),
  nextCycleAt: Type.Union([time, Type.Null()]),
  oldestCheck: Type.Union([Type.Object({ evidenceId: id, at: time }), Type.Null()]),
  neverChecked: Type.Integer(),
  failures: Type.Array(Type.Object({ evidenceId: id, at: Type.Union([time, Type.Null()]), cycle: Type.Integer(), problems: Type.Array(Type.String()), batchSeq: Type.Union([Type.Integer(), Type.Null()]) })),
});

// ---- sharing and disclosure ----------------------------------------------------------------

export const ShareCreateBody = Type.Object(
  {
    evidenceIds: Type.Optional(Type.Array(id, { minItems: 1, maxItems: 200, description: 'The items to share (or caseNumber)' })),
    caseNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Share every item of the case (or evidenceIds)' })),
    recipient: Type.String({ minLength: 1, maxLength: MAX_RECIPIENT_LENGTH, description: 'Who the link is for: named in the watermark, the events, the access log and the receipt' }),
    mode: Type.Union([Type.Literal('view'), Type.Literal('download')], { description: 'view: watch in the browser only; download: also download the copy' }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'At most sharing.maxDays ahead, and not after the approval; default sharing.defaultDays' })),
    watermark: Type.Optional(Type.Boolean({ default: true, description: 'Burn the recipient, the case and the day into each video copy (on by default; the originals are never watermarked)' })),
    approvalId: Type.Optional(id),
    purpose: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false },
);

const ShareItem = Type.Object({
  evidenceId: id,
  sha256: Type.String({ description: 'The original' }),
  copyKind: Type.String({ description: 'share-copy (watermarked) or proxy' }),
  copySha256: Type.String({ description: 'The copy the recipient gets' }),
  copySize: Type.Integer(),
  contentType: Type.String(),
  watermarkLines: nullable(Type.Array(Type.String())),
});

export const Share = Type.Object(
  {
    shareId: id,
    recipient: Type.String(),
    caseNumber: nullable(Type.String()),
    mode: Type.String(),
    watermark: Type.Boolean(),
    approvalId: nullable(id),
    authorizedBy: Type.String({ description: 'approval (an access request) or role' }),
    purpose: nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: time,
    expiresAt: time,
    revokedAt: nullable(time),
    revokedBy: nullable(Type.String()),
    revokeReason: nullable(Type.String()),
    state: Type.String({ description: 'active, expired or revoked' }),
    tokenSha256: Type.String({ description: 'SHA-256 of the token; the token itself is shown once, when the share is made' }),
    items: Type.Array(ShareItem),
  },
  { additionalProperties: false },
);

export const ShareCreated = Type.Object({ share: Share, token: Type.String({ description: 'Shown once: only its SHA-256 is stored' }), link: Type.String({ description: '/share/<token>, after sharing.baseUrl when set' }) });
export const ShareList = Type.Object({ shares: Type.Array(Share) });
export const ShareIdParam = Type.Object({ id });
export const ShareQuery = Type.Object({ case: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), evidenceId: Type.Optional(id) }, { additionalProperties: false });
export const RevokeBody = Type.Object({ reason: Type.String({ minLength: 2, maxLength: 1000 }) }, { additionalProperties: false });
export const ReceiptQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('pdf'), Type.Literal('html')], { default: 'pdf' })) }, { additionalProperties: false });
export const TokenParam = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });
export const TokenItemParam = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }), evidenceId: Type.String({ minLength: 1, maxLength: 64 }) });

export const SharedView = Type.Object({
  recipient: Type.String(),
  caseNumber: nullable(Type.String()),
  mode: Type.String(),
  expiresAt: time,
  items: Type.Array(
    Type.Object({
      evidenceId: id,
      mediaType: Type.String(),
      captureStart: nullable(time),
      durationSeconds: nullable(Type.Number()),
      contentType: Type.String(),
      size: Type.Integer(),
      sha256: Type.String({ description: 'Of the copy' }),
      originalSha256: Type.String(),
      watermarked: Type.Boolean(),
    }),
  ),
});

export const DiscloseBody = Type.Object(
  {
    approvalId: id,
    names: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { maxItems: 200, description: 'Names of persons to mask beyond those the records label' })),
    keep: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { maxItems: 20, description: "The party's name, where the decision names a natural person and it may stay" })),
  },
  { additionalProperties: false },
);

export const DisclosurePreview = Type.Object(
  {
    caseNumber: Type.String(),
    items: Type.Array(
      Type.Object({
        evidenceId: id,
        mediaType: Type.String(),
        captureStart: nullable(time),
        copy: Type.Union([Type.Literal('redacted'), Type.Literal('proxy'), Type.Literal('none')], { description: 'redacted: its newest redacted render; proxy: the unprocessed playback proxy; none: left out (no copy yet)' }),
        sourceKind: nullable(Type.String()),
      }),
    ),
    redacted: Type.Integer(),
    unredacted: Type.Integer({ description: 'Items that would go out as the unprocessed playback proxy: review picture and sound before publication' }),
    withheld: Type.Integer({ description: 'Items with no redacted render and no proxy yet: left out' }),
  },
  { additionalProperties: false },
);

export const DisclosureList = Type.Object(
  {
    disclosures: Type.Array(
      Type.Object({
        disclosureId: id,
        at: time,
        by: Type.String(),
        approvalId: nullable(Type.String()),
        destination: nullable(Type.String()),
        manifestSha256: nullable(Type.String({ description: "SHA-256 of the copy's manifest-sha256.txt (null for copies made before it was recorded)" })),
        files: Type.Array(Type.Object({ evidenceId: id, file: Type.String(), sha256: Type.String(), eventSeq: Type.Integer(), eventHash: Type.String() })),
      }),
    ),
  },
  { additionalProperties: false },
);

// ---- redaction ---------------------------------------------------------------------------
const seconds = Type.Number({ minimum: 0, maximum: 864_000, description: 'Seconds from the start of the recording' });
const fraction = (what: string) => Type.Number({ minimum: 0, maximum: 1, description: `${what}, a fraction of the upright frame (0..1)` });
const RedactionKeyframe = Type.Object({ t: seconds, x: fraction('left edge'), y: fraction('top edge'), w: fraction('width'), h: fraction('height') }, { additionalProperties: false });
const RedactionBoxSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    shape: Type.Optional(Type.Literal('rect')),
    mode: Type.Union([Type.Literal('blur'), Type.Literal('pixelate')]),
    keyframes: Type.Array(RedactionKeyframe, { minItems: 2, maxItems: 600, description: 'In order of time; linear between them; the box is shown from the first to the last' }),
  },
  { additionalProperties: false },
);
export const RedactionSpecSchema = Type.Object(
  {
    boxes: Type.Optional(Type.Array(RedactionBoxSchema, { maxItems: 50 })),
    blurRanges: Type.Optional(Type.Array(Type.Object({ from: seconds, to: seconds }, { additionalProperties: false }), { maxItems: 200, description: 'Spans in which the whole picture is blurred' })),
    audioRanges: Type.Optional(
      Type.Array(Type.Object({ from: seconds, to: seconds, mode: Type.Union([Type.Literal('mute'), Type.Literal('tone')]) }, { additionalProperties: false }), { maxItems: 200, description: 'Spans muted, or replaced by a 1 kHz tone' }),
    ),
  },
  { additionalProperties: false, description: 'What a redacted copy hides (times and sizes are also checked against the recording)' },
);
export const RedactionSaveBody = Type.Object(
  {
    projectId: Type.Optional(Type.String({ format: 'uuid', description: 'Add a version to this project; without it, version 1 of a new project' })),
    spec: RedactionSpecSchema,
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export const RedactionSaved = Type.Object({ projectId: id, version: Type.Integer({ minimum: 1 }), spec: RedactionSpecSchema, event: Type.Ref('CustodyEvent') });
const RedactionFile = Type.Object({ kind: Type.String(), url: Type.String(), sha256: Type.String(), size: Type.Integer(), contentType: Type.String(), createdAt: time });
export const RedactionList = Type.Object({
  projects: Type.Array(
    Type.Object({
      projectId: id,
      createdBy: Type.String(),
      createdAt: time,
      versions: Type.Array(
        Type.Object({
          version: Type.Integer({ minimum: 1 }),
          author: Type.String(),
          note: nullable(Type.String()),
          savedAt: time,
          eventSeq: Type.Integer(),
          spec: RedactionSpecSchema,
          render: Type.Object({
            state: Type.Union([Type.Literal('rendered'), Type.Literal('queued'), Type.Literal('running'), Type.Literal('failed'), Type.Literal('none')]),
            reason: nullable(Type.String()),
            file: nullable(RedactionFile),
          }),
        }),
      ),
    }),
  ),
});
export const RedactionProjectParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), projectId: Type.String({ format: 'uuid' }) });
export const RedactionVersionParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), projectId: Type.String({ format: 'uuid' }), version: Type.Integer({ minimum: 1, maximum: 1_000_000 }) });
export const RedactionRenderBody = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Default: the newest' })) }, { additionalProperties: false });
export const RedactionRenderResult = Type.Object({ projectId: id, version: Type.Integer({ minimum: 1 }), state: Type.Union([Type.Literal('rendered'), Type.Literal('queued')]), file: nullable(RedactionFile) });

// ---- face suggestions (遮挡建议) -------------------------------------------------------
export const SuggestionRequestBody = Type.Object({}, { additionalProperties: false, description: 'Nothing: the rate and model are the server’s configuration (suggestions.*)' });
const SuggestionSchema = Type.Object({
  n: Type.Integer({ minimum: 1, description: 'Its number within the run' }),
  box: RedactionBoxSchema,
  detections: Type.Integer({ minimum: 1, description: 'Sampled frames the face was found on' }),
  meanScore: Type.Number({ description: 'The detector’s mean confidence over them' }),
  decision: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('rejected')]),
  decidedBy: nullable(Type.String()),
  decidedAt: nullable(time),
  projectId: nullable(id),
  version: nullable(Type.Integer({ minimum: 1, description: 'The project version an accepted box went into' })),
});
export const SuggestionRun = Type.Object({
  runId: id,
  requestedBy: Type.String(),
  requestedAt: time,
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('skipped'), Type.Literal('failed')]),
  progress: nullable(Type.Number({ description: 'Percent done while running' })),
  model: nullable(Type.String()),
  framesPerSecond: nullable(Type.Number()),
  frames: nullable(Type.Integer({ description: 'Frames sampled and looked at' })),
  warning: nullable(Type.String({ description: 'Why a run found nothing to do, covered part of the recording, or failed' })),
  finishedAt: nullable(time),
  eventSeq: nullable(Type.Integer({ description: 'Its REDACTION_SUGGESTED custody event' })),
  suggestions: Type.Array(SuggestionSchema),
});
export const SuggestionList = Type.Object({ runs: Type.Array(SuggestionRun, { description: 'Newest first' }) });
export const SuggestionParam = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  runId: Type.String({ format: 'uuid' }),
  n: Type.Integer({ minimum: 1, maximum: 1000 }),
});
export const SuggestionAcceptBody = Type.Object(
  {
    projectId: Type.Optional(Type.String({ format: 'uuid', description: 'The project whose newest version gets the box; without it, version 1 of a new project' })),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export const SuggestionAccepted = Type.Object({ projectId: id, version: Type.Integer({ minimum: 1 }), boxId: Type.String(), spec: RedactionSpecSchema, event: Type.Ref('CustodyEvent') });
export const SuggestionRejectBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false });
export const SuggestionRejected = Type.Object({ decision: Type.Literal('rejected'), event: Type.Ref('CustodyEvent') });
