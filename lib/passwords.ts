// Passwords: argon2id (the library's default algorithm) at one of OWASP's minimum configurations;
// and the policy every new password meets (registration, direct creation, change, reset).
import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import { invalid } from './problem.ts';

// OWASP's Password Storage Cheat Sheet lists five argon2id configurations of equal defence, from
// m = 46 MiB, t = 1 to m = 7 MiB, t = 5. The 7 MiB one costs the least CPU here (8 ms per check
// against 12.5 ms for 19 MiB, t = 2: fresh pages to zero and cache misses grow with the memory),
// and every morning's sign-in storm is mostly these checks.
const OPTIONS = { memoryCost: 7_168, timeCost: 5, parallelism: 1 };
const PARAMETERS = `m=${OPTIONS.memoryCost},t=${OPTIONS.timeCost},p=${OPTIONS.parallelism}`;

export const PASSWORD_RULE = { minLength: 8, maxLength: 128 } as const;

export const hashPassword = (password: string) => hash(password, OPTIONS);

// Verifying an unknown username against this keeps it as slow as a wrong password.
const dummyHash = await hash('no account has this password', OPTIONS);

/** A stored hash made with other parameters than today's (the next sign-in hashes it again). */
export const needsRehash = (storedHash: string) => !storedHash.startsWith('$argon2id$') || storedHash.split('$')[3] !== PARAMETERS;

export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  return verify(storedHash ?? dummyHash, password).catch(() => false);
}

// The ~49,000 most used passwords of the zxcvbn-ts project's common list (MIT), kept up by its maintainers.
const COMMON_PASSWORDS = new Set(dictionary['passwords-common']);

/** Why a new password is refused (Thai first, English after), or null when it meets the policy. */
export function passwordWeakness(password: string, username: string): string | null {
  if (password.length < PASSWORD_RULE.minLength) {
    return `รหัสผ่านต้องมีอย่างน้อย ${PASSWORD_RULE.minLength} ตัวอักษร / The password must have at least ${PASSWORD_RULE.minLength} characters.`;
  }
  if (password.length > PASSWORD_RULE.maxLength) {
    return `รหัสผ่านยาวเกิน ${PASSWORD_RULE.maxLength} ตัวอักษร / The password may have at most ${PASSWORD_RULE.maxLength} characters.`;
  }
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) {
    return 'รหัสผ่านนี้เป็นรหัสที่ใช้กันทั่วไปและถูกเดาได้ง่าย กรุณาเลือกรหัสอื่น / This password is among the most commonly used ones and easy to guess; choose another.';
  }
  const name = username.trim().toLowerCase();
  // A username of one or two letters would refuse half of all passwords; from three on it is a real hint to a guesser.
  if (name.length >= 3 && lower.includes(name)) {
    return 'รหัสผ่านต้องไม่มีชื่อผู้ใช้งานอยู่ในนั้น / The password may not contain the username.';
  }
  return null;
}

/** The hash of a new password that meets the policy; a 400 naming `path` otherwise. */
export async function hashNewPassword(password: string, username: string, path = 'password'): Promise<string> {
  const weakness = passwordWeakness(password, username);
  if (weakness) throw invalid(path, weakness);
  return hashPassword(password);
}
