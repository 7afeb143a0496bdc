/**
 * Who may do what with evidence: the one table the archive server enforces and the role
 * matrix test is generated from. Pure.
 *
 * The rules (../shared/regulations.md): viewing or copying a record needs approval and is
 * logged; supervisors consult records in real time; secrets and privacy are protected;
 * officers may not keep records. So:
 * - a role's own units: the `UNIT_RULES` decide (allow, approval, deny);
 * - an officer's own recordings: `OWN_RULES` first;
 * - anything outside the caller's units is not even shown (404) unless an approved access
 *   request covers it, and then only for the actions approved;
 * - tagging, linking and verifying never come by approval: they change or check the record,
 *   and belong to the roles whose work that is.
 */

export const ROLES = ['officer', 'custodian', 'supervisor', 'auditor', 'case-system', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What an access request can be for; each of these is also written to the access log. */
export const ACCESS_ACTIONS = ['view', 'play', 'download', 'export'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export const EVIDENCE_ACTIONS = [...ACCESS_ACTIONS, 'tag', 'link', 'verify'] as const;
export type EvidenceAction = (typeof EVIDENCE_ACTIONS)[number];

export type Rule = 'allow' | 'approval' | 'deny';

/** In the caller's units. (`view`: the item, its fields and timeline; `play`: proxy, poster, storyboard; `download`: the original; `export`: a case package.) */
export const UNIT_RULES: Readonly<Record<Role, Readonly<Record<EvidenceAction, Rule>>>> = {
  // Own recordings (OWN_RULES); other officers' need approval; never a copy of the original.
  officer: { view: 'approval', play: 'approval', download: 'deny', export: 'deny', tag: 'deny', link: 'deny', verify: 'deny' },
  // The named person responsible for filing, keeping and using the records.
  custodian: { view: 'allow', play: 'allow', download: 'allow', export: 'allow', tag: 'allow', link: 'allow', verify: 'allow' },
  // Real-time consultation (可实时调阅); changes nothing, copies only with approval.
  supervisor: { view: 'allow', play: 'allow', download: 'approval', export: 'approval', tag: 'deny', link: 'deny', verify: 'allow' },
  // Reads everything, including the ledger and access log; plays and copies only with approval.
  auditor: { view: 'allow', play: 'approval', download: 'approval', export: 'approval', tag: 'deny', link: 'deny', verify: 'allow' },
  // Links and reads the items of its units' cases; footage itself only with approval.
  'case-system': { view: 'allow', play: 'approval', download: 'approval', export: 'approval', tag: 'deny', link: 'allow', verify: 'deny' },
  // Users, keys, units and recorders; no evidence.
  admin: { view: 'deny', play: 'deny', download: 'deny', export: 'deny', tag: 'deny', link: 'deny', verify: 'deny' },
};

/** An officer's own recordings (the item's collector is the officer): view, play, fill in the five fields. */
export const OWN_RULES: Readonly<Partial<Record<EvidenceAction, Rule>>> = { view: 'allow', play: 'allow', tag: 'allow', verify: 'allow' };

/** Where the item stands to the caller. */
export type Relation = 'own' | 'unit' | 'outside';

export type Decision =
  | { outcome: 'allow'; by: 'role' | 'approval' }
  /** The caller may see the item but needs an approved request for this (403 APPROVAL_REQUIRED). */
  | { outcome: 'approval-required' }
  /** 403: the role may never do this to items it can see. */
  | { outcome: 'deny' }
  /** 404: outside the caller's units and not approved: not even its existence is told. */
  | { outcome: 'hidden' };

export type RuleOverrides = Partial<Record<Role, Partial<Record<AccessAction, Rule>>>>;

export function ruleOf(role: Role, action: EvidenceAction, relation: Exclude<Relation, 'outside'>, overrides: RuleOverrides = {}): Rule {
  if (relation === 'own' && role === 'officer' && OWN_RULES[action]) return OWN_RULES[action]!;
  const override = (ACCESS_ACTIONS as readonly string[]).includes(action) ? overrides[role]?.[action as AccessAction] : undefined;
  return override ?? UNIT_RULES[role][action];
}

/**
 * `approved`: the actions an approved, unexpired access request of the caller grants on this
 * item (empty when none).
 */
export function decide(role: Role, action: EvidenceAction, relation: Relation, approved: ReadonlySet<AccessAction>, overrides: RuleOverrides = {}): Decision {
  const granted = (ACCESS_ACTIONS as readonly string[]).includes(action) && approved.has(action as AccessAction);
  if (relation === 'outside') {
    if (role === 'admin') return { outcome: 'hidden' };
    if (granted) return { outcome: 'allow', by: 'approval' };
    // Approved for something else on it: the item is known to the caller, this is not allowed.
    return approved.size > 0 ? { outcome: (ACCESS_ACTIONS as readonly string[]).includes(action) ? 'approval-required' : 'deny' } : { outcome: 'hidden' };
  }
  const rule = ruleOf(role, action, relation, overrides);
  if (rule === 'allow') return { outcome: 'allow', by: 'role' };
  if (rule === 'deny') return { outcome: role === 'admin' ? 'hidden' : 'deny' };
  return granted ? { outcome: 'allow', by: 'approval' } : { outcome: 'approval-required' };
}

/**
 * Whether an item shows up in the caller's searches and case views: only what it may view
 * now (an officer sees its own recordings and what it was approved, not its colleagues').
 */
export function listed(role: Role, relation: Relation, approved: ReadonlySet<AccessAction>, overrides: RuleOverrides = {}): boolean {
  return decide(role, 'view', relation, approved, overrides).outcome === 'allow';
}

/** Actions outside evidence: who may use which part of the API. */
export const CAPABILITIES = {
  search: ['officer', 'custodian', 'supervisor', 'auditor', 'case-system'],
  'case.view': ['officer', 'custodian', 'supervisor', 'auditor', 'case-system'],
  'case.action': ['officer', 'custodian', 'case-system'],
  'case.decide': ['custodian', 'case-system'],
  'case.document': ['officer', 'custodian', 'case-system'],
  'access.request': ['officer', 'custodian', 'supervisor', 'auditor', 'case-system'],
  'access.decide': ['custodian'],
  /** Retention, legal holds, case end and archiving, purges (the rules name a custodian for keeping records). */
  preserve: ['custodian'],
  /** Redaction projects and their rendered copies (脱敏处理): the person responsible for using the records. */
  redact: ['custodian'],
  'preserve.view': ['custodian', 'supervisor', 'auditor'],
  'access.log': ['auditor', 'supervisor', 'custodian'],
  ledger: ['auditor'],
  reports: ['custodian', 'supervisor', 'auditor'],
  docks: ['officer', 'custodian', 'supervisor'],
  webhooks: ['case-system'],
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Capability = keyof typeof CAPABILITIES;

export function can(role: Role, capability: Capability): boolean {
  return (CAPABILITIES[capability] as readonly Role[]).includes(role);
}
