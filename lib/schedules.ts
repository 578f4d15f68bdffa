// Temporal Schedules the service keeps: created at start, updated when the configuration changes.
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import { complianceDigest } from '../workflows/compliance.ts';
import type { Config } from './config.ts';

export const complianceScheduleId = (config: Config) => `${config.taskQueue}-compliance-digest`;

export async function ensureSchedules(client: Client, config: Config): Promise<void> {
  const options = {
    scheduleId: complianceScheduleId(config),
    spec: { cronExpressions: [config.complianceDigestCron], timezone: 'Asia/Bangkok' },
    action: { type: 'startWorkflow' as const, workflowType: complianceDigest, taskQueue: config.taskQueue, args: [] as [] },
  };
  try {
    await client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action }));
  }
}
