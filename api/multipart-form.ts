// The console's upload forms (multipart/form-data): read whole before the CSRF check, so that the check
// finds the form's `_csrf` field like any other form's. Shared by every console page with a file to send.
import type { FastifyRequest } from 'fastify';
import { Problem } from '../lib/problem.ts';

export interface FormFile {
  fileName: string;
  content: Buffer;
}
export type FormFields = Record<string, string | FormFile | undefined>;

/** preHandler of a multipart form: `request.body` becomes its fields (text as strings, files as buffers; an empty file is left out). */
export async function multipartForm(request: FastifyRequest) {
  if (!request.isMultipart()) throw new Problem(415, 'Unsupported Media Type', 'Send the form as multipart/form-data.');
  const fields: FormFields = {};
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const content = await part.toBuffer();
      if (content.length > 0) fields[part.fieldname] = { fileName: (part.filename || 'file').slice(0, 200), content };
    } else {
      fields[part.fieldname] = String(part.value);
    }
  }
  request.body = fields;
}

/** The file of a form's field, if one was sent. */
export const formFile = (fields: FormFields, name: string): FormFile | undefined => {
  const value = fields[name];
  return value && typeof value !== 'string' ? value : undefined;
};
