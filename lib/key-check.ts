// Start-up refuses a wrong ENCRYPTION_KEY: personal data already in the database must decrypt with
// it, and its keyed hash must match, or every read of a citizen ID would fail later, one by one.
import { isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { accounts, registrations } from '../db/schema.ts';
import type { PersonalDataCipher } from './crypto.ts';

export async function assertKeyFitsDatabase(db: Db, cipher: PersonalDataCipher): Promise<void> {
  const samples = [
    ...(await db.select({ enc: accounts.citizenIdEnc, hash: accounts.citizenIdHash }).from(accounts).where(isNotNull(accounts.citizenIdEnc)).limit(1)),
    ...(await db.select({ enc: registrations.citizenIdEnc, hash: registrations.citizenIdHash }).from(registrations).limit(1)),
  ];
  for (const sample of samples) {
    let plain: string;
    try {
      plain = cipher.decrypt(sample.enc!);
    } catch {
      throw new Error(
        'ENCRYPTION_KEY does not decrypt the personal data already in this database: it is not the key the data was ' +
          'written with. Start with the same ENCRYPTION_KEY as before (refusing to start).',
      );
    }
    if (sample.hash && cipher.lookupHash(plain) !== sample.hash) {
      throw new Error('ENCRYPTION_KEY does not match the keyed hashes in this database (refusing to start).');
    }
  }
}
