// Who acts: the signed-in account with its admin scope, as every service receives it.
import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { adminScopeOf, type AdminScope } from '../db/org-tree.ts';
import { accounts } from '../db/schema.ts';

export interface Actor extends AdminScope {
  id: string;
  username: string;
  unitCode: string | null;
  citizenIdHash: string | null;
}

/** The account with its admin scope, or null when it does not exist or is not active. */
export async function loadActor(db: Queryable, accountId: string): Promise<Actor | null> {
  const [account] = await db
    .select({
      id: accounts.id,
      username: accounts.username,
      unitCode: accounts.unitCode,
      status: accounts.status,
      citizenIdHash: accounts.citizenIdHash,
    })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  if (!account || account.status !== 'active') return null;
  return {
    id: account.id,
    username: account.username,
    unitCode: account.unitCode,
    citizenIdHash: account.citizenIdHash,
    ...(await adminScopeOf(db, account.id)),
  };
}

/** The roles a signed-in account has in this service. */
export const rolesOf = (actor: Actor) => ['user', ...(actor.adminUnits.length > 0 ? ['sso_admin'] : []), ...(actor.central ? ['central_admin'] : [])];
