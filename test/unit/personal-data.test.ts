// Pure logic: citizen IDs, the cipher for personal data, durations, mail rendering.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { renderMail } from '../../lib/mail.ts';
import { isValidCitizenId, maskCitizenId, withCheckDigit } from '../../lib/citizen-id.ts';
import { parseDuration } from '../../lib/config.ts';
import { createCipher } from '../../lib/crypto.ts';

describe('Thai citizen ID', () => {
  it('accepts a correct check digit and refuses every other', () => {
    // 1-1037-00001-23-? : weights 13..2 over the first 12 digits
    const valid = withCheckDigit('110370000123');
    expect(isValidCitizenId(valid)).toBe(true);
    for (let d = 0; d <= 9; d++) {
      const candidate = valid.slice(0, 12) + d;
      expect(isValidCitizenId(candidate)).toBe(candidate === valid);
    }
  });

  it('computes the check digit as (11 - sum mod 11) mod 10', () => {
    // 3-1006-01234-56-?: sum = 3*13+1*12+0+0+6*9+0+1*7+2*6+3*5+4*4+5*3+6*2 = 182; 182 mod 11 = 6; (11-6) mod 10 = 5
    expect(withCheckDigit('310060123456')).toBe('3100601234565');
  });

  it('refuses what is not 13 digits', () => {
    for (const bad of ['', '123', '12345678901234', '110370000123x', ' 1103700001231']) expect(isValidCitizenId(bad)).toBe(false);
  });

  it('masks all but the last four digits', () => {
    expect(maskCitizenId('3100601234565')).toBe('*********4565');
  });
});

describe('personal data cipher', () => {
  const cipher = createCipher(randomBytes(32));
  it('round-trips, with a fresh nonce each time', () => {
    const a = cipher.encrypt('3100601234565');
    const b = cipher.encrypt('3100601234565');
    expect(a).not.toBe(b);
    expect(a).not.toContain('3100601234565');
    expect(cipher.decrypt(a)).toBe('3100601234565');
  });
  it('detects tampering', () => {
    const sealed = cipher.encrypt('3100601234565').split('.');
    const body = Buffer.from(sealed[3]!, 'base64');
    body[0] = body[0]! ^ 1;
    sealed[3] = body.toString('base64');
    expect(() => cipher.decrypt(sealed.join('.'))).toThrow();
  });
  it('hashes deterministically per key, differently across keys', () => {
    const other = createCipher(randomBytes(32));
    expect(cipher.lookupHash('3100601234565')).toBe(cipher.lookupHash('3100601234565'));
    expect(cipher.lookupHash('3100601234565')).not.toBe(other.lookupHash('3100601234565'));
  });
  it('refuses a key of the wrong size', () => {
    expect(() => createCipher(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('durations', () => {
  it('reads the forms the README documents', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('36h')).toBe(129_600_000);
    expect(parseDuration('2d')).toBe(172_800_000);
  });
  it('names the variable when a value is wrong', () => {
    expect(() => parseDuration('2 days', 'REGISTRATION_REMIND_AFTER')).toThrow(/REGISTRATION_REMIND_AFTER/);
  });
});

describe('mail templates', () => {
  it('renders Thai first, English below, with Buddhist-Era dates, in text and HTML', () => {
    const mail = renderMail('registration-submitted', {
      firstNameTh: 'สมหญิง',
      lastNameTh: 'รักงาน',
      unitNameTh: 'อบต.หนองนาคำ',
      trackingCode: 'ABCD-EFGH-JKLM-NPQR',
      submittedAt: '2026-11-27T03:00:00Z',
      trackingUrl: 'http://sso.test/x',
    });
    expect(mail.subject).toBe('ได้รับคำขอลงทะเบียนผู้ใช้งานแล้ว / Registration request received — ABCD-EFGH-JKLM-NPQR');
    expect(mail.text.indexOf('เรียน')).toBeLessThan(mail.text.indexOf('Your registration'));
    expect(mail.text).toContain('2569'); // 2026 in the Buddhist Era
    expect(mail.text).toContain('27 November 2026');
    expect(mail.html).toContain('<strong>ABCD-EFGH-JKLM-NPQR</strong>');
  });
  it('escapes what people typed in the HTML part', () => {
    const mail = renderMail('registration-rejected', {
      firstNameTh: '<script>x</script>',
      lastNameTh: '',
      reason: '<b>no</b>',
      decidedAt: '2026-01-01T00:00:00Z',
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;b&gt;no&lt;/b&gt;');
  });
});
