// Passwords: argon2id (the library's default algorithm), OWASP's minimum parameters; and the policy
// every new password meets (registration, direct creation, change, reset).
import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import { invalid } from './problem.ts';

const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const PASSWORD_RULE = { minLength: 8, maxLength: 128 } as const;

export const hashPassword = (password: string) => hash(password, OPTIONS);

// Verifying an unknown username against this keeps it as slow as a wrong password.
const dummyHash = await hash('no account has this password', OPTIONS);

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
