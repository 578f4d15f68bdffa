// Run by workflowBundle (lib/temporal.ts) as a child process: bundles the workflow code with webpack
// and writes it to stdout. Webpack and its loaders take ~150 MB that a process never gives back;
// here they leave with the child. `node lib/bundle-workflows.ts <workflowsPath> [interceptor module…]`
import { bundleWorkflowCode } from '@temporalio/worker';
import { quietBundlerLogger } from './temporal.ts';

const [workflowsPath, ...workflowInterceptorModules] = process.argv.slice(2);
if (!workflowsPath) throw new Error('usage: node lib/bundle-workflows.ts <workflowsPath> [interceptor module…]');
const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: quietBundlerLogger });
process.stdout.write(code);
