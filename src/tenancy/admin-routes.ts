// The tenancy admin API, as a route table the server mounts under /admin/v1/ behind the master
// key: teams and keys. A key's secret appears once, in the response that creates it (`key`).

import { GatewayError } from '../api/errors.ts';
import type { AdminRequest, AdminResponse, AdminRoute } from '../api/routes.ts';
import type { KeysService } from './keys.ts';
import { DuplicateTeamNameError, UnknownTeamError, type KeyRecord, type TeamRecord } from './types.ts';
import {
  createKeySchema,
  createTeamSchema,
  keyPatch,
  keyView,
  limitPatch,
  parseBody,
  teamPatch,
  teamView,
  toEpochMs,
  updateKeySchema,
  updateTeamSchema,
} from './admin-schemas.ts';

const ok = (body: unknown, status = 200): AdminResponse => ({ status, body });

function teamNotFound(id: string): GatewayError {
  return new GatewayError('not_found', `No team with id '${id}'.`, { code: 'team_not_found' });
}

function keyNotFound(id: string): GatewayError {
  return new GatewayError('not_found', `No API key with id '${id}'.`, { code: 'key_not_found' });
}

/** Store errors that are the caller's fault, as the 400/409 they deserve. */
async function translated<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof DuplicateTeamNameError) {
      throw new GatewayError('invalid_request', `A team named '${err.teamName}' already exists.`, { status: 409, param: 'name', code: 'team_name_taken' });
    }
    if (err instanceof UnknownTeamError) {
      throw new GatewayError('invalid_request', `team_id: no team with id '${err.teamId}'.`, { param: 'team_id', code: 'team_not_found' });
    }
    throw err;
  }
}

function found<T extends TeamRecord | KeyRecord>(record: T | undefined, missing: () => GatewayError): T {
  if (!record) throw missing();
  return record;
}

export function tenancyAdminRoutes(keys: KeysService, now: () => number = Date.now): AdminRoute[] {
  const store = keys.store;
  const id = (req: AdminRequest) => req.params.id;

  return [
    {
      method: 'POST',
      pattern: /^\/teams\/?$/,
      handler: async (req) => {
        const body = parseBody(createTeamSchema, req.body);
        const team = await translated(store.createTeam({ name: body.name, ...limitPatch(body) }));
        return ok(teamView(team), 201);
      },
    },
    {
      method: 'GET',
      pattern: /^\/teams\/?$/,
      handler: async (req) => {
        const teams = req.query.name ? [await store.getTeamByName(req.query.name)].filter((t) => t !== undefined) : await store.listTeams();
        return ok({ object: 'list', data: teams.map(teamView) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/teams\/(?<id>[^/]+)\/?$/,
      handler: async (req) => ok(teamView(found(await store.getTeam(id(req)), () => teamNotFound(id(req))))),
    },
    {
      method: 'PATCH',
      pattern: /^\/teams\/(?<id>[^/]+)\/?$/,
      handler: async (req) => {
        const patch = teamPatch(parseBody(updateTeamSchema, req.body));
        return ok(teamView(found(await translated(keys.updateTeam(id(req), patch)), () => teamNotFound(id(req)))));
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/teams\/(?<id>[^/]+)\/?$/,
      handler: async (req) => {
        const outcome = await keys.deleteTeam(id(req));
        if (outcome === 'not_found') throw teamNotFound(id(req));
        if (outcome === 'has_keys') {
          throw new GatewayError('invalid_request', `Team '${id(req)}' still has active API keys; revoke them or move them to another team first.`, {
            status: 409,
            code: 'team_has_active_keys',
          });
        }
        return ok({ object: 'team', id: id(req), deleted: true });
      },
    },
    {
      method: 'POST',
      pattern: /^\/keys\/?$/,
      handler: async (req) => {
        const body = parseBody(createKeySchema, req.body);
        const expiresAt = toEpochMs(body.expires_at);
        if (expiresAt != null && expiresAt <= now()) {
          throw new GatewayError('invalid_request', 'expires_at: must be in the future.', { param: 'expires_at', code: 'invalid_value' });
        }
        const { key, secret } = await translated(keys.createKey({ name: body.name, teamId: body.team_id, expiresAt, ...limitPatch(body) }));
        // The only time the secret leaves the gateway: it is stored as a hash and cannot be shown again.
        return ok({ ...keyView(key, now()), key: secret }, 201);
      },
    },
    {
      method: 'GET',
      pattern: /^\/keys\/?$/,
      handler: async (req) => {
        const list = await store.listKeys({ teamId: req.query.team_id || undefined });
        return ok({ object: 'list', data: list.map((k) => keyView(k, now())) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/keys\/(?<id>[^/]+)\/?$/,
      handler: async (req) => ok(keyView(found(await store.getKey(id(req)), () => keyNotFound(id(req))), now())),
    },
    {
      method: 'PATCH',
      pattern: /^\/keys\/(?<id>[^/]+)\/?$/,
      handler: async (req) => {
        const patch = keyPatch(parseBody(updateKeySchema, req.body));
        return ok(keyView(found(await translated(keys.updateKey(id(req), patch)), () => keyNotFound(id(req))), now()));
      },
    },
    ...(['POST', 'DELETE'] as const).map(
      (method): AdminRoute => ({
        method,
        // POST /keys/{id}/revoke, or DELETE /keys/{id}: keys are revoked, never deleted, so usage
        // records keep pointing at something.
        pattern: method === 'POST' ? /^\/keys\/(?<id>[^/]+)\/revoke\/?$/ : /^\/keys\/(?<id>[^/]+)\/?$/,
        handler: async (req) => ok(keyView(found(await keys.revokeKey(id(req)), () => keyNotFound(id(req))), now())),
      }),
    ),
  ];
}
