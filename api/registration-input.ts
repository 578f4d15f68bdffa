// The shapes a registration's applicant sends, as JSON schemas: the submission and the answer to a
// request for information. Shared by the API (`data` of the multipart body) and the tracking page.
import type { RegistrationInfo, RegistrationSubmission } from '../services/registrations.ts';
import { accessList, citizenId, email, password, thaiName, unitCode, username } from './schemas.ts';
import { validator } from './uploads.ts';

/** Evidence documents are judged by their content: these only. */
export const DOCUMENT_TYPES = ['application/pdf', 'image/jpeg', 'image/png'] as const;

const personFields = {
  firstNameTh: thaiName,
  lastNameTh: thaiName,
  firstNameEn: thaiName,
  lastNameEn: thaiName,
  email,
  phone: { type: 'string', maxLength: 30, pattern: '^[0-9+() -]*$' },
  position: { type: 'string', minLength: 1, maxLength: 200 },
  requestedAccess: accessList,
} as const;

export const readSubmission = validator<RegistrationSubmission>({
  type: 'object',
  additionalProperties: false,
  required: ['email', 'position', 'unitCode', 'username', 'password', 'requestedAccess'],
  properties: { ...personFields, citizenId, unitCode, username, password, identityVerification: { type: 'string', minLength: 20, maxLength: 200 } },
  // Verified through ThaiID, the citizen ID and names come from ThaiD's claims instead.
  if: { not: { required: ['identityVerification'] } },
  then: { required: ['citizenId', 'firstNameTh', 'lastNameTh'] },
});

export const readInfo = validator<RegistrationInfo>({
  type: 'object',
  additionalProperties: false,
  properties: { ...personFields, note: { type: 'string', minLength: 1, maxLength: 2000 } },
});

// The pages (the applicant's tracking page, the console): words for statuses and events, and the
// access checkboxes, whose values read `SYSTEM:role`.
export const STATUS_LABELS: Record<string, string> = {
  pending_approval: 'รอการอนุมัติ / Waiting for approval',
  info_requested: 'ขอข้อมูลเพิ่มเติม / More information requested',
  approved: 'อนุมัติแล้ว / Approved',
  rejected: 'ไม่อนุมัติ / Rejected',
  expired: 'หมดอายุ / Expired',
  withdrawn: 'ถอนคำขอแล้ว / Withdrawn',
  superseded: 'ถูกแทนที่ด้วยคำขอที่ยืนยันตัวตนด้วย ThaiID / Replaced by a ThaiID-verified request',
};
export const EVENT_LABELS: Record<string, string> = {
  submitted: 'ยื่นคำขอ / Submitted',
  info_requested: 'ขอข้อมูลเพิ่มเติม / Information requested',
  info_provided: 'ส่งข้อมูลเพิ่มเติม / Information provided',
  approved: 'อนุมัติ / Approved',
  rejected: 'ไม่อนุมัติ / Rejected',
  withdrawn: 'ถอนคำขอ / Withdrawn',
  expired: 'หมดอายุ / Expired',
  escalated: 'ส่งต่อหน่วยงานระดับสูงขึ้น / Escalated',
  reminded: 'แจ้งเตือนผู้ดูแล / Admins reminded',
  superseded: 'แทนที่ด้วยคำขอที่ยืนยันตัวตนด้วย ThaiID / Replaced by a ThaiID-verified request',
};

/** The history with its words, for a timeline. */
export const historyForPage = (history: { at: string; event: string; actor: string; note: string | null; actingUnitCode?: string }[]) =>
  history.map((h) => ({ ...h, label: EVENT_LABELS[h.event] ?? h.event }));

/** Checked `SYSTEM:role` boxes as access; a value that does not read so is dropped (the service checks the rest). */
export function accessFromForm(value: unknown): { system: string; role: string }[] {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values
    .filter((v): v is string => typeof v === 'string' && /^[^:]+:.+$/.test(v))
    .map((v) => ({ system: v.slice(0, v.indexOf(':')), role: v.slice(v.indexOf(':') + 1) }));
}

/** The access checkboxes: every connected system's roles, checked where `selected` has it. */
export const accessBoxes = (choices: { system: string; nameTh: string; role: string }[], selected: { system: string; role: string }[]) =>
  choices.map((c, i) => ({
    ...c,
    id: `access-${i}`,
    value: `${c.system}:${c.role}`,
    checked: selected.some((s) => s.system === c.system && s.role === c.role),
  }));
