import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { can, type Capability } from '../archive/access-policy.ts';
import type { Caller } from '../archive/access.service.ts';
import { ArchiveError, forbidden } from '../archive/archive.errors.ts';
import type { Runtime } from '../daemon/runtime.ts';

/** The Fastify instance the route files get: TypeBox schemas give the handlers their types. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface RouteDeps {
  rt: Runtime;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook for every route that is not public. */
    caller: Caller | null;
    /** The session cookie's token (cookie logins), for logout and password change. */
    sessionToken: string | null;
    csrfToken: string | null;
  }
  interface FastifyContextConfig {
    /** No credentials needed (login, health, the OpenAPI document). */
    public?: boolean;
    /** Allowed before a forced password change. */
    beforePasswordChange?: boolean;
  }
}

export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new ArchiveError('UNAUTHENTICATED', 401, 'log in or send an API key', '请先登录');
  return req.caller;
}

/** The caller, if its role has the capability (403 otherwise). */
export function callerWith(req: FastifyRequest, capability: Capability, whatZh: string): Caller {
  const caller = callerOf(req);
  if (!can(caller.principal.role, capability)) throw forbidden(whatZh);
  return caller;
}
