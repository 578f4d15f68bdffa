// Admins and applicants act through Updates to a flow's workflow. What the process no longer awaits
// is a 409; a workflow that is gone, a 409; a Temporal that cannot be reached, a 503.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { FastifyBaseLogger } from 'fastify';
import { NOT_AWAITING } from '../workflows/decision-clock.ts';
import { conflict, unavailable } from './problem.ts';

/** Sends an Update (`send`) about "the <what>", turning its refusals into problems a person can read. */
export async function updateWorkflow<T>(log: FastifyBaseLogger, what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const type = (error.cause as { type?: string } | undefined)?.type;
      const detail = (error.cause as Error | undefined)?.message ?? 'refused';
      if (type === NOT_AWAITING) throw conflict(`The ${what} no longer awaits this: ${detail}.`);
      if (type === 'AccountExists') throw conflict(`Cannot approve: ${detail}.`);
      throw conflict(detail);
    }
    if (error instanceof WorkflowNotFoundError) throw conflict(`The ${what} is closed.`);
    log.error({ err: error }, `cannot reach the ${what}'s workflow`);
    throw unavailable('The workflow service is not reachable; try again shortly.');
  }
}
