// Multipart uploads: a JSON part named `data` and files judged by their content, never by their name.
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { fileTypeFromBuffer } from 'file-type';
import { christianEraKeyword } from '../lib/dates.ts';
import type { StagedDocument } from '../lib/document-store.ts';
import { badRequest, fieldErrorsOf, Problem, type FieldError } from '../lib/problem.ts';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as { default: (a: Ajv) => Ajv };
addFormats.default(ajv);
ajv.addKeyword(christianEraKeyword);

/** Checks a value against `schema` (compiled once): the problems, under `root`, or none. */
export function checker(schema: object): (value: unknown, root?: string) => FieldError[] {
  const validate = ajv.compile(schema);
  return (value, root = 'data') => (validate(value) ? [] : fieldErrorsOf(validate.errors, root));
}

/** Validates `value` against `schema` (compiled once), or throws a 400 listing every problem. */
export function validator<T>(schema: object): (value: unknown) => T {
  const check = checker(schema);
  return (value) => {
    const errors = check(value);
    if (errors.length > 0) throw badRequest(errors.map((e) => e.message).join('; '), errors);
    return value as T;
  };
}

/** An uploaded document, already encrypted in the store's staging area (kept when the service stores it). */
export interface UploadedFile {
  fieldName: string;
  fileName: string;
  mediaType: string;
  document: StagedDocument;
}

export interface Upload {
  data: unknown;
  files: UploadedFile[];
}

const staged = new WeakMap<FastifyRequest, StagedDocument[]>();

/** Deletes what a request staged and no service kept (an onResponse hook: refused, failed or aborted alike). */
export async function discardStagedUploads(request: FastifyRequest): Promise<void> {
  const documents = staged.get(request);
  staged.delete(request);
  if (documents) await Promise.all(documents.map((d) => request.server.deps.documentStore.discard(d)));
}

/**
 * A file part streamed into the document store's staging area (encrypted, hashed, never whole in
 * memory) and judged by its first bytes: one of `accept`, else 415; named `fileField`, else 400; over
 * the size limit, 413. A refused file is deleted at once.
 */
export async function readFilePart(
  request: FastifyRequest,
  part: MultipartFile,
  accept: readonly string[],
  fileField: string,
): Promise<UploadedFile | undefined> {
  if (part.fieldname !== fileField) {
    part.file.resume();
    throw badRequest(`Unexpected file part "${part.fieldname}"; files go in "${fileField}".`, [{ path: part.fieldname, message: 'unexpected file' }]);
  }
  const store = request.server.deps.documentStore;
  const document = await store.stage(part.file);
  const list = staged.get(request) ?? [];
  staged.set(request, [...list, document]);
  if (part.file.truncated) {
    await store.discard(document);
    throw new request.server.multipartErrors.RequestFileTooLargeError();
  }
  if (document.size === 0) {
    await store.discard(document);
    if (!part.filename) return undefined; // a file input left empty
    throw badRequest(`${part.filename} is empty.`, [{ path: fileField, message: 'empty file' }]);
  }
  const detected = await fileTypeFromBuffer(document.head);
  if (!detected || !accept.includes(detected.mime)) {
    await store.discard(document);
    throw new Problem(415, 'Unsupported Media Type', `${part.filename || 'A file'} is not ${accept.join(', ')} (judged by its content).`);
  }
  return { fieldName: part.fieldname, fileName: (part.filename || `document.${detected.ext}`).slice(0, 200), mediaType: detected.mime, document };
}

/**
 * Reads the whole multipart body. Size and count limits come from @fastify/multipart (413); files
 * whose content is not one of `accept` are refused (415), whatever their name or declared type.
 */
export async function readUpload(request: FastifyRequest, accept: readonly string[], fileField: string): Promise<Upload> {
  if (!request.isMultipart()) {
    throw new Problem(415, 'Unsupported Media Type', 'Send multipart/form-data with a JSON part named "data" and the files.');
  }
  let data: unknown;
  let sawData = false;
  const files: UploadedFile[] = [];
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const file = await readFilePart(request, part, accept, fileField);
      if (file) files.push(file);
    } else if (part.fieldname === 'data') {
      if (sawData) throw badRequest('Send one part named "data".', [{ path: 'data', message: 'repeated' }]);
      sawData = true;
      try {
        data = JSON.parse(String(part.value));
      } catch {
        throw badRequest('The part "data" is not valid JSON.', [{ path: 'data', message: 'is not valid JSON' }]);
      }
    } else {
      throw badRequest(`Unexpected part "${part.fieldname}"; send the fields as JSON in "data".`, [{ path: part.fieldname, message: 'unexpected part' }]);
    }
  }
  return { data, files };
}
