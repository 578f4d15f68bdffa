// One person, one account: the checks that registration and direct account creation share.
import { and, eq, inArray, ne, or, sql } from 'drizzle-orm';
import type { Queryable } from './client.ts';
import { accounts, OPEN_REGISTRATION_STATUSES, registrations } from './schema.ts';

export type IdentityConflict = 'citizen-has-account' | 'citizen-has-open-request' | 'username-taken';

export const CONFLICT_MESSAGES: Record<IdentityConflict, string> = {
  'citizen-has-account': 'This citizen ID already has an account; sign in, or ask the SSO admin of your unit.',
  'citizen-has-open-request': 'This citizen ID already has a registration request in progress; follow it with its tracking code.',
  'username-taken': 'This username is taken; choose another.',
};

export async function findIdentityConflict(
  db: Queryable,
  citizenIdHash: string,
  username: string,
  exceptRegistrationId?: string,
): Promise<IdentityConflict | null> {
  const byAccount = await db
    .select({ citizenIdHash: accounts.citizenIdHash })
    .from(accounts)
    .where(or(eq(accounts.citizenIdHash, citizenIdHash), eq(sql`lower(${accounts.username})`, username.toLowerCase())));
  if (byAccount.some((a) => a.citizenIdHash === citizenIdHash)) return 'citizen-has-account';
  if (byAccount.length > 0) return 'username-taken';
  const byRequest = await db
    .select({ citizenIdHash: registrations.citizenIdHash })
    .from(registrations)
    .where(
      and(
        inArray(registrations.status, [...OPEN_REGISTRATION_STATUSES]),
        or(eq(registrations.citizenIdHash, citizenIdHash), eq(sql`lower(${registrations.username})`, username.toLowerCase())),
        exceptRegistrationId ? ne(registrations.id, exceptRegistrationId) : undefined,
      ),
    );
  if (byRequest.some((r) => r.citizenIdHash === citizenIdHash)) return 'citizen-has-open-request';
  if (byRequest.length > 0) return 'username-taken';
  return null;
}

/** A unique index caught a race that the checks above could not: two submissions at once. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === '23505') return true;
  }
  return false;
}
