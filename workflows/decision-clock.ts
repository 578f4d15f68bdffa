// What every "waiting for an admin" flow keeps: the clock (a reminder every so often, escalation to
// the parent unit after a while at one unit, expiry at the end; it reads workflow time) and the
// lock that lets one transition run at a time.

import { ApplicationFailure, condition } from '@temporalio/workflow';

/** The failure type of an Update refused because the process no longer awaits it (the API answers 409). */
export const NOT_AWAITING = 'NotAwaitingDecision';

/**
 * One transition at a time: an admin's message and a timer's step never write the history
 * together. While one runs, validators refuse (`busy`) and other work waits its turn (`run`).
 */
export class TransitionLock {
  private running = false;

  get busy(): boolean {
    return this.running;
  }

  /**
   * `failUpdateWithActivityError`: an activity's ApplicationFailure (a missing record, an existing
   * account) becomes the Update's own failure, so the caller sees its type, not "activity failed".
   */
  async run<T>(work: () => Promise<T>, options: { failUpdateWithActivityError?: boolean } = {}): Promise<T> {
    if (this.running) await condition(() => !this.running);
    this.running = true;
    try {
      return await work();
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (options.failUpdateWithActivityError && cause instanceof ApplicationFailure) {
        throw ApplicationFailure.create({ type: cause.type ?? 'Failed', message: cause.message, nonRetryable: true });
      }
      throw error;
    } finally {
      this.running = false;
    }
  }
}

export interface DecisionTimers {
  remindAfterMs: number;
  escalateAfterMs: number;
  expireAfterMs: number;
}

export type DueStep = 'expire' | 'escalate' | 'remind';

export class DecisionClock {
  private remindAt = 0;
  private escalateAt = 0;
  private expireAt = 0;
  private readonly timers: DecisionTimers;

  constructor(timers: DecisionTimers) {
    this.timers = timers;
    this.restartExpiry();
    this.restartAtUnit();
  }

  /** A new unit acts (or the same one anew): its reminder and escalation periods start over. */
  restartAtUnit(): void {
    this.escalateAt = Date.now() + this.timers.escalateAfterMs;
    this.remindAt = Date.now() + this.timers.remindAfterMs;
  }

  /** Someone acted: the whole expiry period starts over. */
  restartExpiry(): void {
    this.expireAt = Date.now() + this.timers.expireAfterMs;
  }

  reminded(): void {
    this.remindAt = Date.now() + this.timers.remindAfterMs;
  }

  /** Nowhere further up to escalate: wait at the top until expiry. */
  reachedTop(): void {
    this.escalateAt = Number.POSITIVE_INFINITY;
  }

  /** When to look again; only expiry runs while admins are not the ones awaited. */
  wakeAt(waitingForAdmins: boolean): number {
    return waitingForAdmins ? Math.min(this.remindAt, this.escalateAt, this.expireAt) : this.expireAt;
  }

  /** What is due now, the most final first. */
  due(waitingForAdmins: boolean): DueStep | null {
    const now = Date.now();
    if (now >= this.expireAt) return 'expire';
    if (!waitingForAdmins) return null;
    if (now >= this.escalateAt) return 'escalate';
    if (now >= this.remindAt) return 'remind';
    return null;
  }
}
