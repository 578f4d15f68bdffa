import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { quietBundlerLogger } from '../../lib/temporal.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { temporalBinary } from './temporal-binaries.ts';

const INDEXED_VALUE_TYPE_KEYWORD = 2; // every search attribute of ours is a keyword

/** The time-skipping test server from the pinned binary, with our search attributes declared. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalBinary('temporal-test-server') } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return env;
}

/**
 * For a file of workflow tests: the workflows bundled once, and a time-skipping server of its own
 * per test — the skipped clock is global to a server, and a workflow one test leaves running (a
 * request sleeping out its retention period) must not hold the next test's clock.
 */
export function timeSkippingSuite(): { env: TestWorkflowEnvironment; bundle: WorkflowBundleWithSourceMap } {
  const suite = {} as { env: TestWorkflowEnvironment; bundle: WorkflowBundleWithSourceMap };
  beforeAll(async () => {
    suite.bundle = await bundleWorkflowCode({ workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname, logger: quietBundlerLogger });
  }, 120_000);
  beforeEach(async () => {
    suite.env = await createTimeSkippingEnv();
  }, 60_000);
  afterEach(async () => {
    await suite.env?.teardown();
  });
  return suite;
}
