// JSON logs (pino) for every process, with one list of what never reaches them: the API's request
// headers that carry secrets, and any field holding a citizen ID, a password, a token or a secret.
import { pino, type DestinationStream, type Logger } from 'pino';

/** Cut from every log line, wherever it is logged (the API's requests, the worker, start-up, scripts). */
export const REDACT: string[] = [
  'req.headers.authorization',
  'req.headers["x-tracking-code"]',
  'req.headers["x-hr-signature"]',
  'req.headers.cookie',
  'req.headers["x-imauth-apikey"]',
  ...['citizenId', 'password', 'token', 'secret', 'clientSecret', 'apiKey', 'trackingCode', 'encryptionKey'].flatMap((field) => [field, `*.${field}`]),
];

export type Log = Logger;

/** A process's logger: JSON lines on stdout (or `stream`), named by `name` (`worker`, `start`, a script's name). */
export function createLogger(level: string, name: string, stream?: DestinationStream): Logger {
  return pino({ level, name, redact: REDACT }, stream);
}
