// What the manual's pages show beyond their text: the deadlines as configured, and the printable
// sheet of a unit with QR codes to the sign-in page, the manual and the survey (DLA's 2023 letter
// carried the manual and the survey as QR codes; offices put the sheet on letters and notice boards).
import { eq } from 'drizzle-orm';
import QRCode from 'qrcode';
import { orgUnits } from '../db/schema.ts';
import { notFound } from '../lib/problem.ts';
import type { ServiceDeps } from './deps.ts';

/** A duration as the manual says it: whole days when it is days, else hours, else minutes. */
export function durationInWords(ms: number): string {
  const [n, th, en] =
    ms % 86_400_000 === 0
      ? [ms / 86_400_000, 'วัน', 'day']
      : ms % 3_600_000 === 0
        ? [ms / 3_600_000, 'ชั่วโมง', 'hour']
        : [Math.ceil(ms / 60_000), 'นาที', 'minute'];
  return `${n} ${th} / ${n} ${en}${n === 1 ? '' : 's'}`;
}

/** The deadlines the admins' part of the manual quotes, from the configuration in force. */
export function manualDeadlines(deps: Pick<ServiceDeps, 'config'>) {
  const { registration, appointment } = deps.config;
  return {
    registration: {
      remind: durationInWords(registration.remindAfterMs),
      escalate: durationInWords(registration.escalateAfterMs),
      expire: durationInWords(registration.expireAfterMs),
    },
    appointment: { escalate: durationInWords(appointment.escalateAfterMs), expire: durationInWords(appointment.expireAfterMs) },
  };
}

const UNIT_CODE = /^[A-Za-z0-9_.-]{1,32}$/;

/** The three destinations of the sheet, in the order printed. */
const DESTINATIONS = [
  { key: 'login', path: '/login', th: 'เข้าสู่ระบบ SSO', en: 'Sign in to the SSO' },
  { key: 'manual', path: '/manual', th: 'คู่มือการใช้งาน', en: 'User manual' },
  { key: 'survey', path: '/survey', th: 'แบบประเมินความพึงพอใจ', en: 'Satisfaction survey' },
] as const;

export interface QrCode {
  key: (typeof DESTINATIONS)[number]['key'];
  th: string;
  en: string;
  url: string;
  /** The code as inline SVG markup, labelled for screen readers (the URL is printed beside it too). */
  svg: string;
}

/** The code of a URL as SVG: error correction M (a printed sheet gets creased and photocopied), the standard quiet zone. */
export async function qrSvg(url: string, label: string): Promise<string> {
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  const escaped = label.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return svg.replace('<svg ', `<svg role="img" aria-label="${escaped}" class="qr" `);
}

/** The printable sheet of a unit: its names and the QR codes, with URLs from the configured public address. */
export async function unitSheet(deps: Pick<ServiceDeps, 'db' | 'config'>, unitCode: string) {
  if (!UNIT_CODE.test(unitCode)) throw notFound(`ไม่พบหน่วยงานรหัส ${unitCode} / There is no unit ${unitCode}.`);
  const [unit] = await deps.db
    .select({ code: orgUnits.code, nameTh: orgUnits.nameTh, nameEn: orgUnits.nameEn, parentCode: orgUnits.parentCode })
    .from(orgUnits)
    .where(eq(orgUnits.code, unitCode));
  if (!unit) throw notFound(`ไม่พบหน่วยงานรหัส ${unitCode} / There is no unit ${unitCode}.`);
  const [parent] = unit.parentCode ? await deps.db.select({ nameTh: orgUnits.nameTh }).from(orgUnits).where(eq(orgUnits.code, unit.parentCode)) : [];
  const codes: QrCode[] = await Promise.all(
    DESTINATIONS.map(async (d) => {
      const url = `${deps.config.publicUrl}${d.path}`;
      return { key: d.key, th: d.th, en: d.en, url, svg: await qrSvg(url, `คิวอาร์โค้ด ${d.th} / QR code: ${d.en}, ${url}`) };
    }),
  );
  return { unit: { ...unit, parentNameTh: parent?.nameTh ?? null }, codes };
}
