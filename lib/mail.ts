// Mail goes through the outbox table: a row per (key), sent once. A retried activity finds the row
// already sent and does nothing, so no one receives the same mail twice.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type Handlebars from 'handlebars';
import nodemailer from 'nodemailer';
import type { Config } from './config.ts';
import type { Queryable } from '../db/client.ts';
import { mailOutbox } from '../db/schema.ts';
import { handlebars, readTemplate } from './templates.ts';
import { traced } from './tracing.ts';

interface CompiledMail {
  subject: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
  html: Handlebars.TemplateDelegate;
}
const compiled = new Map<string, CompiledMail>();

/**
 * A mail template is one `.hbs` file with three sections, `--- subject`, `--- text` and `--- html`:
 * Thai first, English below, in both parts.
 */
function load(template: string): CompiledMail {
  const cached = compiled.get(template);
  if (cached) return cached;
  const source = readTemplate('mail', template);
  const parts = source.split(/^--- (subject|text|html)[ \t]*$/m);
  const sections: Record<string, string> = {};
  for (let i = 1; i + 1 < parts.length; i += 2) sections[parts[i]!] = parts[i + 1]!.trim();
  if (!sections.subject || !sections.text || !sections.html) throw new Error(`${template}.hbs needs subject, text and html sections`);
  const mail = {
    subject: handlebars.compile(sections.subject, { noEscape: true }),
    text: handlebars.compile(sections.text, { noEscape: true }),
    html: handlebars.compile(sections.html),
  };
  compiled.set(template, mail);
  return mail;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export function renderMail(template: string, data: Record<string, unknown>): RenderedMail {
  const mail = load(template);
  return { subject: mail.subject(data).replace(/\s+/g, ' ').trim(), text: mail.text(data), html: mail.html(data) };
}

export interface MailTransport {
  send(message: { key: string; from: string; to: string; subject: string; text: string; html: string }): Promise<void>;
  close(): void;
}

/** SMTP when SMTP_URL is set; otherwise `.eml` files under DATA_DIR/outbox (embedded mode). */
export function createMailTransport(config: Pick<Config, 'smtpUrl' | 'dataDir' | 'publicUrl'>): MailTransport {
  const messageId = (key: string) => `<${key.replace(/[^A-Za-z0-9.-]/g, '.')}@${new URL(config.publicUrl).hostname}>`;
  if (config.smtpUrl) {
    // Pooled: bursts (thousands of leavers) reuse a few connections instead of one per message.
    const url = new URL(config.smtpUrl);
    if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true');
    const transport = nodemailer.createTransport(url.toString());
    return {
      // A stable Message-ID lets receivers drop the rare duplicate of a send that crashed before it was recorded.
      async send(m) {
        // The key names the flow and step (ids only); the recipient stays out of the trace.
        await traced('smtp send', { 'mail.key': m.key }, () => transport.sendMail({ ...m, messageId: messageId(m.key) }));
      },
      close() {
        transport.close();
      },
    };
  }
  const outbox = join(config.dataDir, 'outbox');
  mkdirSync(outbox, { recursive: true });
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(m) {
      const info = await transport.sendMail({ ...m, messageId: messageId(m.key) });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      writeFileSync(join(outbox, `${stamp}-${m.key.replace(/[^A-Za-z0-9-]/g, '_')}.eml`), info.message as Buffer);
    },
    close() {},
  };
}

export interface QueuedMail {
  key: string;
  template: string;
  to: string;
  rendered: RenderedMail;
}

/** Adds a mail to the outbox unless one with the same key is there already. */
export async function enqueueMail(db: Queryable, mail: QueuedMail): Promise<void> {
  await enqueueMails(db, [mail]);
}

/** Adds several mails in one statement (each once per key). */
export async function enqueueMails(db: Queryable, mails: QueuedMail[]): Promise<void> {
  if (mails.length === 0) return;
  await db
    .insert(mailOutbox)
    .values(
      mails.map((mail) => ({
        key: mail.key,
        template: mail.template,
        toAddress: mail.to,
        subject: mail.rendered.subject,
        textBody: mail.rendered.text,
        htmlBody: mail.rendered.html,
      })),
    )
    .onConflictDoNothing();
}

/**
 * Sends the unsent rows among these keys, read in one query and marked sent in one (a crash in
 * between sends them again, with the same Message-ID). Throws after trying them all if any could
 * not be sent (the caller retries).
 */
export async function deliverQueuedMany(db: Queryable, transport: MailTransport, from: string, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const rows = await db
    .select()
    .from(mailOutbox)
    .where(and(inArray(mailOutbox.key, keys), isNull(mailOutbox.sentAt)));
  let failure: unknown;
  const sent: string[] = [];
  for (const row of rows) {
    try {
      await transport.send({ key: row.key, from, to: row.toAddress, subject: row.subject, text: row.textBody, html: row.htmlBody });
      sent.push(row.key);
    } catch (error) {
      failure = error;
      await db
        .update(mailOutbox)
        .set({ attempts: sql`${mailOutbox.attempts} + 1`, lastError: String(error).slice(0, 500) })
        .where(eq(mailOutbox.key, row.key));
    }
  }
  if (sent.length > 0) {
    await db
      .update(mailOutbox)
      .set({ sentAt: new Date(), attempts: sql`${mailOutbox.attempts} + 1`, lastError: null })
      .where(inArray(mailOutbox.key, sent));
  }
  if (failure) throw failure;
  return rows.length;
}

/** Sends the outbox row with this key if it has not been sent yet. */
export async function deliverQueued(db: Queryable, transport: MailTransport, from: string, key: string): Promise<'sent' | 'already-sent' | 'missing'> {
  const [row] = await db.select().from(mailOutbox).where(eq(mailOutbox.key, key));
  if (!row) return 'missing';
  if (row.sentAt) return 'already-sent';
  try {
    await transport.send({ key, from, to: row.toAddress, subject: row.subject, text: row.textBody, html: row.htmlBody });
  } catch (error) {
    await db
      .update(mailOutbox)
      .set({ attempts: sql`${mailOutbox.attempts} + 1`, lastError: String(error).slice(0, 500) })
      .where(eq(mailOutbox.key, key));
    throw error;
  }
  await db
    .update(mailOutbox)
    .set({ sentAt: new Date(), attempts: sql`${mailOutbox.attempts} + 1`, lastError: null })
    .where(eq(mailOutbox.key, key));
  return 'sent';
}
