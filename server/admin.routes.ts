import { Type } from 'typebox';
import * as S from './api.schemas.ts';
import { presentKey, presentUser } from './api.presenters.ts';
import { callerWith, type Api, type RouteDeps } from './request-context.ts';

/** Users, API keys, units and recorders (role admin). Every change is an ADMINISTERED event. */
export function adminRoutes(app: Api, { rt }: RouteDeps): void {
  const admin = (req: Parameters<typeof callerWith>[0]) => callerWith(req, 'admin', '管理用户、密钥、单位和记录仪').principal;
  const ok = Type.Object({ ok: Type.Literal(true) });

  app.get('/admin/units', { schema: { tags: ['admin'], summary: 'Units (执法单位), nested', response: { 200: Type.Array(S.Unit), ...S.errors(401, 403, 503) } } }, async (req) => {
    admin(req);
    return (await rt.identity.units()).map((u) => ({ id: u.id, name: u.name, parentId: u.parentId, path: u.path }));
  });

  app.post('/admin/units', { schema: { tags: ['admin'], summary: 'Add a unit under a parent (or a root)', body: S.UnitBody, response: { 201: S.Unit, ...S.errors(400, 401, 403, 409, 503) } } }, async (req, reply) => {
    const u = await rt.identity.addUnit({ id: req.body.id, name: req.body.name, parentId: req.body.parentId ?? null }, admin(req).name);
    return reply.code(201).send({ id: u.id, name: u.name, parentId: u.parentId, path: u.path });
  });

  app.get('/admin/users', { schema: { tags: ['admin'], summary: 'Users', response: { 200: Type.Array(S.User), ...S.errors(401, 403, 503) } } }, async (req) => {
    admin(req);
    return (await rt.identity.users()).map(presentUser);
  });

  app.post('/admin/users', { schema: { tags: ['admin'], summary: 'Add a user (changes the password at first login)', body: S.UserBody, response: { 201: S.User, ...S.errors(400, 401, 403, 409, 503) } } }, async (req, reply) => {
    const b = req.body;
    const u = await rt.identity.addUser({ name: b.name, displayName: b.displayName ?? null, role: b.role, officerId: b.officerId ?? null, unitIds: b.units, password: b.password }, admin(req).name);
    return reply.code(201).send(presentUser(u));
  });

  app.patch('/admin/users/:name', { schema: { tags: ['admin'], summary: 'Change a user: role, units, officer number, disabled, a new password', params: S.NameParam, body: S.UserPatch, response: { 200: S.User, ...S.errors(400, 401, 403, 404, 503) } } }, async (req) => {
    const by = admin(req).name;
    const b = req.body;
    if (b.role !== undefined || b.units !== undefined || b.officerId !== undefined) {
      await rt.identity.updateUser(req.params.name, { ...(b.role ? { role: b.role } : {}), ...(b.units ? { unitIds: b.units } : {}), ...(b.officerId !== undefined ? { officerId: b.officerId } : {}) }, by);
    }
    if (b.password !== undefined) await rt.identity.resetPassword(req.params.name, b.password, by);
    if (b.disabled !== undefined) await rt.identity.setDisabled(req.params.name, b.disabled, by);
    return presentUser(await rt.identity.user(req.params.name));
  });

  app.get('/admin/keys', { schema: { tags: ['admin'], summary: 'API keys (never their secrets)', response: { 200: Type.Array(S.ApiKey), ...S.errors(401, 403, 503) } } }, async (req) => {
    admin(req);
    return (await rt.identity.keys()).map(presentKey);
  });

  app.post('/admin/keys', { schema: { tags: ['admin'], summary: 'Create an API key for a system; the key is shown once', body: S.ApiKeyBody, response: { 201: S.ApiKeyCreated, ...S.errors(400, 401, 403, 503) } } }, async (req, reply) => {
    return reply.code(201).send(await rt.identity.createKey({ name: req.body.name, role: req.body.role, unitIds: req.body.units }, admin(req).name));
  });

  app.delete('/admin/keys/:id', { schema: { tags: ['admin'], summary: 'Revoke an API key', params: S.UuidParam, response: { 200: ok, ...S.errors(401, 403, 404, 503) } } }, async (req) => {
    await rt.identity.revokeKey(req.params.id, admin(req).name);
    return { ok: true as const };
  });

  app.get('/admin/recorders', { schema: { tags: ['admin'], summary: 'The recorder registry', response: { 200: Type.Array(S.Recorder), ...S.errors(401, 403, 503) } } }, async (req) => {
    admin(req);
    return (await rt.catalog.registeredRecorders()).map((r) => ({
      serial: r.serial,
      officerId: r.officerId ?? null,
      officerName: r.officerName ?? null,
      unitId: r.unitId ?? null,
      registeredBy: r.registeredBy,
      registeredAt: r.registeredAt?.toISOString() ?? null,
    }));
  });

  app.post('/admin/recorders', { schema: { tags: ['admin'], summary: 'Register a recorder to an officer and unit', body: S.RecorderBody, response: { 201: ok, ...S.errors(400, 401, 403, 503) } } }, async (req, reply) => {
    const b = req.body;
    await rt.identity.registerRecorder({ serial: b.serial, ...(b.officerId ? { officerId: b.officerId } : {}), ...(b.officerName ? { officerName: b.officerName } : {}), ...(b.unitId ? { unitId: b.unitId } : {}) }, admin(req).name);
    return reply.code(201).send({ ok: true as const });
  });

  app.delete('/admin/recorders/:serial', { schema: { tags: ['admin'], summary: 'Take a recorder off the registry (its recordings keep their fields)', params: S.SerialParam, response: { 200: ok, ...S.errors(401, 403, 404, 503) } } }, async (req) => {
    await rt.identity.unregisterRecorder(req.params.serial, admin(req).name);
    return { ok: true as const };
  });

}
