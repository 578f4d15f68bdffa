import { TestWorkflowEnvironment } from '@temporalio/testing';
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
