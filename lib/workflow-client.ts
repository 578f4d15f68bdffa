// Starting and signalling our workflows from outside them (the API, and start-up's re-queueing):
// one place that knows each workflow's id, options and first input.
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { person, personnelEventReceived, personWorkflowId, type PersonnelNotice } from '../workflows/personnel.ts';
import { registration, registrationWorkflowId, type RegistrationInput } from '../workflows/registration.ts';
import { registrationActingUnitKey, registrationStatusKey } from '../workflows/search-attributes.ts';
import type { Config } from './config.ts';

/** Starts (or finds, when it runs already) the workflow of a registration request. */
export async function startRegistrationWorkflow(client: Client, taskQueue: string, input: RegistrationInput): Promise<void> {
  await client.workflow.start(registration, {
    taskQueue,
    workflowId: registrationWorkflowId(input.registrationId),
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: registrationStatusKey, value: 'pending_approval' },
      { key: registrationActingUnitKey, value: input.actingUnitCode },
    ],
  });
}

/** Hands a personnel event to the person's workflow (keyed by the citizen ID's keyed hash), starting it if need be. */
export async function handToPersonWorkflow(client: Client, config: Config, citizenIdHash: string, notice: PersonnelNotice): Promise<void> {
  await client.workflow.signalWithStart(person, {
    workflowId: personWorkflowId(citizenIdHash), taskQueue: config.taskQueue,
    args: [{ personKey: citizenIdHash.slice(0, 40), pending: [], idleMs: config.personIdleMs, reviewTimers: { role_change: config.roleChangeReview, transfer: config.transferReview } }],
    signal: personnelEventReceived, signalArgs: [notice],
  });
}
