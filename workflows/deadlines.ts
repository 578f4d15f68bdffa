// A decision clock's deadlines read from outside the workflow, without Temporal's workflow API.
import type { DecisionTimers } from './decision-clock.ts';

/**
 * The same clock read from outside the workflow (the console's "when does it escalate or expire"),
 * from a flow's recorded steps: which steps start a unit's period and which the expiry period, as the
 * workflows call `restartAtUnit` and `restartExpiry` after them.
 */
const STARTS_UNIT_PERIOD = new Set(['submitted', 'escalated', 'info_provided']);
const STARTS_EXPIRY = new Set(['submitted', 'info_requested', 'info_provided']);

export function deadlinesFrom(steps: readonly { event: string; at: Date }[], timers: DecisionTimers): { escalatesAt: Date | null; expiresAt: Date | null } {
  let unitSince: number | null = null;
  let expirySince: number | null = null;
  for (const s of steps) {
    if (STARTS_UNIT_PERIOD.has(s.event)) unitSince = s.at.getTime();
    if (STARTS_EXPIRY.has(s.event)) expirySince = s.at.getTime();
  }
  return {
    escalatesAt: unitSince === null ? null : new Date(unitSince + timers.escalateAfterMs),
    expiresAt: expirySince === null ? null : new Date(expirySince + timers.expireAfterMs),
  };
}
