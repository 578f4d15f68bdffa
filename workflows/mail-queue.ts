// The mail of a long-running process, sent beside it: while the SMTP relay is down, the mail
// activities retry, and reminders, escalations, expiries and decisions go on regardless.
//
// Versioning: workflows started before this existed awaited their mail in their main loop; those
// still in flight replay that way (patched() is false for them: see "Upgrading workflows" in the README).
import { condition, log, patched } from '@temporalio/workflow';

export const MAIL_BESIDE_TIMERS = 'mail-beside-timers';

export class MailQueue {
  readonly #waiting: (() => Promise<unknown>)[] = [];
  #sending = false;
  /** True for a process that sends its mail beside its timers (all started since the patch). */
  readonly #beside: boolean;

  constructor() {
    this.#beside = patched(MAIL_BESIDE_TIMERS);
    if (this.#beside) void this.#sendForever();
  }

  /** Queues a mail; it leaves in the order queued. */
  push(send: () => Promise<unknown>): void {
    this.#waiting.push(send);
  }

  /** For the process's wait: whether mail must be sent in line before it goes on (processes before the patch only). */
  get dueInLine(): boolean {
    return !this.#beside && this.#waiting.length > 0;
  }

  /** Processes before the patch send their queued mail here, in line; the others go on at once. */
  async sendInLine(): Promise<void> {
    if (this.#beside) return;
    while (this.#waiting.length > 0) await this.#waiting.shift()!();
  }

  /** Before the process ends: every queued mail sent. */
  async sent(): Promise<void> {
    if (!this.#beside) return this.sendInLine();
    await condition(() => this.#waiting.length === 0 && !this.#sending);
  }

  async #sendForever(): Promise<void> {
    for (;;) {
      await condition(() => this.#waiting.length > 0);
      this.#sending = true;
      try {
        await this.#waiting[0]!();
      } catch (error) {
        // Only a mail that can never be sent (its record is gone) ends here; the process goes on.
        log.warn('a mail could not be sent and was dropped', { error: error instanceof Error ? error.message : String(error) });
      } finally {
        this.#waiting.shift();
        this.#sending = false;
      }
    }
  }
}
