// Who acts: the signed-in account with its admin scope, as every service receives it.
import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { adminScopeColumns, type AdminScope } from '../db/org-tree.ts';
import { accounts } from '../db/schema.ts';

export interface Actor extends AdminScope {
  id: string;
  username: string;
  unitCode: string | null;
  citizenIdHash: string | null;
}

/** An account row as the actor it is, with its admin scope read in the same statement. */
export const actorColumns = () => ({
  id: accounts.id,
  username: accounts.username,
  unitCode: accounts.unitCode,
  status: accounts.status,
  citizenIdHash: accounts.citizenIdHash,
  ...adminScopeColumns(),
});

/** The actor of a row selected with `actorColumns()`, or null when the account is not active. */
export function actorOfRow(row: { status: string } & Actor): Actor | null {
  if (row.status !== 'active') return null;
  return { id: row.id, username: row.username, unitCode: row.unitCode, citizenIdHash: row.citizenIdHash, adminUnits: row.adminUnits, central: row.central };
}

/** The account with its admin scope, or null when it does not exist or is not active. */
export async function loadActor(db: Queryable, accountId: string): Promise<Actor | null> {
  const [row] = await db.select(actorColumns()).from(accounts).where(eq(accounts.id, accountId));
  return row ? actorOfRow(row) : null;
}

/** The roles a signed-in account has in this service. */
export const rolesOf = (actor: Actor) => ['user', ...(actor.adminUnits.length > 0 ? ['sso_admin'] : []), ...(actor.central ? ['central_admin'] : [])];
