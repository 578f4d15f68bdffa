// A real SMTP server on loopback that keeps what it receives, parsed; or, for a benchmark, only counts it
// (parsing and keeping tens of thousands of mails would take the CPU and memory of the service it measures).
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { setTimeout as delay } from 'node:timers/promises';

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string | undefined;
  raw: ParsedMail;
}

export interface MailCatcher {
  url: string;
  /** What was received, parsed (empty when it only counts). */
  mails: ReceivedMail[];
  /** How many mails were delivered, one per recipient. */
  readonly received: number;
  /** Waits until `predicate` matches `count` mails (default 1), and returns them. */
  waitFor(predicate: (m: ReceivedMail) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** While true, every connection is refused at its greeting (a relay that is down). */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startMailCatcher(options: { keep?: boolean } = {}): Promise<MailCatcher> {
  const keep = options.keep ?? true;
  const mails: ReceivedMail[] = [];
  const state = { refusing: false, received: 0 };
  const server = new SMTPServer({
    authOptional: true,
    // Refused at the greeting and, for connections the sender keeps open in its pool, at each message.
    onConnect(_session, callback) {
      callback(state.refusing ? Object.assign(new Error('Service not available'), { responseCode: 421 }) : undefined);
    },
    onMailFrom(_address, _session, callback) {
      callback(state.refusing ? Object.assign(new Error('Service not available'), { responseCode: 451 }) : undefined);
    },
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      if (!keep) {
        stream.once('error', callback).once('end', () => {
          state.received += session.envelope.rcptTo.length;
          callback();
        });
        stream.resume();
        return;
      }
      simpleParser(stream).then((parsed) => {
        state.received += session.envelope.rcptTo.length;
        for (const rcpt of session.envelope.rcptTo) {
          mails.push({
            to: rcpt.address.toLowerCase(),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: String(parsed.html || ''),
            messageId: parsed.messageId,
            raw: parsed,
          });
        }
        callback();
      }, callback);
    },
  });
  // A sender killed mid-message (the fault test's worker) resets its connection: nothing to report.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    get received() {
      return state.received;
    },
    get refusing() {
      return state.refusing;
    },
    set refusing(value: boolean) {
      state.refusing = value;
    },
    async waitFor(predicate, count = 1, timeoutMs = 15_000) {
      if (!keep) throw new Error('this mail catcher only counts what it receives');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = mails.filter(predicate);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} matching mail(s), got ${found.length}; received: ${mails.map((m) => `${m.to} «${m.subject}»`).join(' | ')}`);
        }
        await delay(50);
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
