// The one reader of the pages' upload forms (multipart/form-data with a CSRF field): the tracking page,
// the registration page and the console's uploads. Read in two steps around the CSRF check, so that a
// form without a valid token is refused before any file is buffered:
//   preHandler: [multipartFields, app.csrfProtection, multipartRest]   (or readMultipartRest in the handler)
// `multipartFields` reads the text fields up to the first file (the hidden `_csrf` comes first in every
// form) into `request.body`, where the CSRF check looks; the rest is read only once the check has passed.
// Sizes and counts: the file limits registered in api/app.ts (10 MB a file, 5 files) and the field
// counts below; any excess or malformed body is a 4xx problem, and nothing has been changed by then.
// Files of the `accept` fields (evidence documents) stream into the document store's staging area,
// encrypted and judged by their first bytes, never whole in memory; other files (CSV imports) are read
// into memory.
import type { Multipart, MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { badRequest, Problem } from '../lib/problem.ts';
import { readFilePart, type UploadedFile } from './uploads.ts';

/** A file of a field not read with `accept`, in memory; application/octet-stream (the service judges). */
export interface FormFile {
  fieldName: string;
  fileName: string;
  mediaType: string;
  content: Buffer;
}
/** Each field's first value (text as a string, a file as its buffer or staged document): what `request.body` holds. */
export type FormFields = Record<string, string | FormFile | UploadedFile | undefined>;

/** The whole form: every value of each text field, in order, and every file sent (empty inputs left out). */
export interface MultipartBody {
  fields: Record<string, string[]>;
  files: FormFile[];
  /** The files of the `accept` fields, staged in the document store (judged by their content). */
  documents: UploadedFile[];
}

export interface MultipartOptions {
  /** File fields whose content must be one of these media types (else 415); a file in another field is a 400. */
  accept?: Record<string, readonly string[]>;
  /** How many text fields the form may send (checkbox lists count one per ticked box). */
  maxFields?: number;
}

interface Pending {
  request: FastifyRequest;
  parts: AsyncIterator<Multipart>;
  read: MultipartBody;
  /** The first file part, met while reading the fields before the check. */
  file?: MultipartFile;
  options: MultipartOptions;
}
const pending = new WeakMap<FastifyRequest, Pending>();

const TOO_LARGE = 'ไฟล์ใหญ่เกิน 10 MB หรือมากกว่า 5 ไฟล์ หรือข้อมูลมากเกินไป / A file is over 10 MB, there are more than 5 files, or the form is too large.';

/** A failure while reading the body as a clear 4xx (limits → 413, anything malformed → 400). */
function readingProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 413) return new Problem(413, 'Payload Too Large', TOO_LARGE);
  if (status === 406 || status === 415) return new Problem(415, 'Unsupported Media Type', 'Send the form as multipart/form-data.');
  return badRequest(`The form could not be read: ${(error as Error).message ?? 'malformed body'}.`);
}

function addField(read: MultipartBody, name: string, value: string) {
  (read.fields[name] ??= []).push(value);
}

/** preHandler factory (before the CSRF check): the text fields up to the first file into `request.body`. */
export function multipartFields(options: MultipartOptions = {}) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!request.isMultipart()) return; // the CSRF check or the reading of the rest refuses it
    const maxFields = options.maxFields ?? 20;
    const parts = request.parts({ limits: { fields: maxFields, parts: maxFields + 10 } })[Symbol.asyncIterator]();
    const state: Pending = { request, parts, read: { fields: {}, files: [], documents: [] }, options };
    pending.set(request, state);
    try {
      for (let next = await parts.next(); !next.done; next = await parts.next()) {
        if (next.value.type === 'file') {
          state.file = next.value;
          break;
        }
        addField(state.read, next.value.fieldname, String(next.value.value));
      }
    } catch (error) {
      throw readingProblem(error);
    }
    request.body = flat(state.read);
  };
}

async function takeFile(state: Pending, part: MultipartFile) {
  const accept = state.options.accept;
  if (accept) {
    const types = accept[part.fieldname];
    if (!types) {
      part.file.resume();
      throw badRequest(`Unexpected file field "${part.fieldname}".`, [{ path: part.fieldname, message: 'unexpected file' }]);
    }
    const document = await readFilePart(state.request, part, types, part.fieldname);
    if (document) state.read.documents.push(document);
  } else {
    const content = await part.toBuffer();
    if (!part.filename && content.length === 0) return; // a file input left empty
    if (content.length === 0) throw badRequest(`${part.filename} is empty.`, [{ path: part.fieldname, message: 'empty file' }]);
    state.read.files.push({ fieldName: part.fieldname, fileName: part.filename.slice(0, 200), mediaType: 'application/octet-stream', content });
  }
}

/**
 * After the CSRF check: the rest of the form. Throws a 4xx Problem for a body that is not multipart,
 * too large, malformed, or with a file of a refused type; `partial` then holds the text read so far
 * (a page can show the form again with it).
 */
export async function readMultipartRest(request: FastifyRequest): Promise<MultipartBody> {
  const state = pending.get(request);
  if (!state) throw new Problem(415, 'Unsupported Media Type', 'Send the form as multipart/form-data.');
  try {
    if (state.file) await takeFile(state, state.file);
    state.file = undefined;
    for (let next = await state.parts.next(); !next.done; next = await state.parts.next()) {
      const part = next.value;
      if (part.type === 'file') await takeFile(state, part);
      else addField(state.read, part.fieldname, String(part.value));
    }
  } catch (error) {
    throw readingProblem(error);
  }
  return state.read;
}

/** What was read of the form so far (for showing a refused form again); empty if nothing was. */
export const partialForm = (request: FastifyRequest): MultipartBody => pending.get(request)?.read ?? { fields: {}, files: [], documents: [] };

/** preHandler (after the CSRF check): the whole form into `request.body` as `FormFields`. */
export async function multipartRest(request: FastifyRequest): Promise<void> {
  request.body = flat(await readMultipartRest(request));
}

/** Each name's first value, files included. */
function flat(read: MultipartBody): FormFields {
  const fields: FormFields = {};
  for (const [name, values] of Object.entries(read.fields)) fields[name] = values[0];
  for (const file of [...read.files, ...read.documents]) fields[file.fieldName] ??= file;
  return fields;
}

/**
 * The whole form in one preHandler, without the gate around the CSRF check (kept for pages written
 * against it; prefer `[multipartFields(), app.csrfProtection, multipartRest]`).
 */
export async function multipartForm(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) throw new Problem(415, 'Unsupported Media Type', 'Send the form as multipart/form-data.');
  await multipartFields()(request);
  await multipartRest(request);
}

/** The file of a form's field, if one was sent. */
export const formFile = (fields: FormFields, name: string): FormFile | undefined => {
  const value = fields[name];
  return value && typeof value !== 'string' && 'content' in value ? value : undefined;
};

/** The staged document of a form's `accept` field, if one was sent. */
export const formDocument = (fields: FormFields, name: string): UploadedFile | undefined => {
  const value = fields[name];
  return value && typeof value !== 'string' && 'document' in value ? value : undefined;
};
