// Passwords: argon2id (the library's default algorithm), OWASP's minimum parameters.
import { hash, verify } from '@node-rs/argon2';

const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const PASSWORD_RULE = { minLength: 8, maxLength: 128 } as const;

export const hashPassword = (password: string) => hash(password, OPTIONS);

// Verifying an unknown username against this keeps it as slow as a wrong password.
const dummyHash = await hash('no account has this password', OPTIONS);

export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  return verify(storedHash ?? dummyHash, password).catch(() => false);
}
