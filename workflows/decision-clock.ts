// The clock every "waiting for an admin" step keeps: a reminder every so often, escalation to the
// parent unit after a while at one unit, expiry at the end. Deterministic: it reads workflow time.

/** The failure type of an Update refused because the process no longer awaits it (the API answers 409). */
export const NOT_AWAITING = 'NotAwaitingDecision';

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
