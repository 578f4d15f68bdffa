// Thai citizen ID (เลขประจำตัวประชาชน): 13 digits, the last a check digit over the first 12
// (weights 13..2, sum mod 11, check = (11 - r) mod 10).

export function isValidCitizenId(value: string): boolean {
  if (!/^\d{13}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(value[i]) * (13 - i);
  return (11 - (sum % 11)) % 10 === Number(value[12]);
}

/** Shown to people: only the last four digits, e.g. `x-xxxx-xxxxx-67-8` style collapsed to `*********5678`. */
export function maskCitizenId(value: string): string {
  return `${'*'.repeat(9)}${value.slice(-4)}`;
}

/** Completes 12 digits with their check digit (test data, benchmarks). */
export function withCheckDigit(first12: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (13 - i);
  return first12 + String((11 - (sum % 11)) % 10);
}
