// The shapes a registration's applicant sends, as JSON schemas: the submission and the answer to a
// request for information. Shared by the API (`data` of the multipart body) and the tracking page.
import type { RegistrationInfo, RegistrationSubmission } from '../services/registrations.ts';
import { accessList, citizenId, email, password, thaiName, unitCode, username } from './schemas.ts';
import { validator } from './uploads.ts';

/** Evidence documents are judged by their content: these only. */
export const DOCUMENT_TYPES = ['application/pdf', 'image/jpeg', 'image/png'] as const;

const personFields = {
  firstNameTh: thaiName, lastNameTh: thaiName, firstNameEn: thaiName, lastNameEn: thaiName, email,
  phone: { type: 'string', maxLength: 30, pattern: '^[0-9+() -]*$' }, position: { type: 'string', minLength: 1, maxLength: 200 },
  requestedAccess: accessList,
} as const;

export const readSubmission = validator<RegistrationSubmission>({
  type: 'object', additionalProperties: false,
  required: ['email', 'position', 'unitCode', 'username', 'password', 'requestedAccess'],
  properties: { ...personFields, citizenId, unitCode, username, password, identityVerification: { type: 'string', minLength: 20, maxLength: 200 } },
  // Verified through ThaiID, the citizen ID and names come from ThaiD's claims instead.
  if: { not: { required: ['identityVerification'] } },
  then: { required: ['citizenId', 'firstNameTh', 'lastNameTh'] },
});

export const readInfo = validator<RegistrationInfo>({
  type: 'object', additionalProperties: false,
  properties: { ...personFields, note: { type: 'string', minLength: 1, maxLength: 2000 } },
});
