import type { Role } from './access-policy.ts';

/**
 * Who is calling: a person logged in (user) or a system with an API key (key), with the
 * units it is scoped to, already expanded to every unit below them.
 */
export interface Principal {
  kind: 'user' | 'key';
  id: string;
  name: string;
  role: Role;
  /** The officer number of a user with role officer: its own recordings are the ones it collected. */
  officerId: string | null;
  /** The units it was given. */
  unitIds: readonly string[];
  /** Those units and every unit below them. */
  scope: ReadonlySet<string>;
  /** Scoped to a root unit (a province-level auditor): also sees items no unit claims (unregistered recorders). */
  seesUnassigned: boolean;
  mustChangePassword: boolean;
}

/** The item facts that decide how it stands to a caller. */
export interface ItemScope {
  id: string;
  unitId: string | null;
  officerId: string | null;
  caseNumbers: readonly string[];
}

export function inScope(p: Principal, unitId: string | null): boolean {
  return unitId === null ? p.seesUnassigned : p.scope.has(unitId);
}

/** How the caller stands to the item (access-policy.ts). */
export function relationOf(p: Principal, item: ItemScope): 'own' | 'unit' | 'outside' {
  if (p.role === 'officer' && p.officerId !== null && item.officerId === p.officerId) return 'own';
  return inScope(p, item.unitId) ? 'unit' : 'outside';
}

/** How the caller appears in custody events and the access log. */
export function actorOf(p: Principal): { kind: 'user' | 'system'; id: string } {
  return { kind: p.kind === 'user' ? 'user' : 'system', id: p.name };
}
