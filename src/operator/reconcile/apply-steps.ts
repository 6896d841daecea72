import { jobFinishedAt, type NodeView } from '../../kube/views.ts';
import type { Logger } from '../logger.ts';
import { labelledRuntimes } from '../plan/node-records.ts';
import type { Step } from '../plan/steps.ts';
import type { ReconcileContext } from './context.ts';

/** Pods on the node that run with one of our RuntimeClasses (they are left running). */
async function warnAboutWasmPods(
  node: NodeView,
  ctx: ReconcileContext,
  log: Logger,
): Promise<void> {
  const ours = new Set([...ctx.config.runtimes, ...labelledRuntimes(node)]);
  const pods = await ctx.kube.listPodsOnNode(node.metadata.name);
  const using = pods.filter(
    (p) =>
      p.spec?.runtimeClassName &&
      ours.has(p.spec.runtimeClassName) &&
      !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
  );
  if (using.length === 0) return;
  const names = using.slice(0, 10).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
  await ctx.events.nodeEvent(
    node,
    'Warning',
    'WasmPodsStillRunning',
    `${using.length} pod(s) still use Wasm RuntimeClasses on this node and will break when the runtimes are removed; they are not deleted: ${names.join(', ')}${using.length > names.length ? ', …' : ''}`,
    log,
  );
}

async function startJob(
  step: Extract<Step, { kind: 'startJob' }>,
  node: NodeView,
  ctx: ReconcileContext,
  log: Logger,
): Promise<void> {
  const name = node.metadata.name;
  try {
    // Node first: an uninstall drops the ready labels before anything is removed, and
    // a Job never exists without its node showing the status.
    await ctx.kube.patchNodeMetadata(name, step.patch);
    if (await ctx.kube.createJob(step.job)) {
      ctx.metrics.jobsStarted.inc({ operation: step.operation });
      log.info(
        { job: step.job.metadata?.name, operation: step.operation },
        'installer job created',
      );
    }
  } catch (err) {
    ctx.gate.release(name);
    throw err;
  }
  // Opt-in: it reads every pod on the node, a cluster-wide pods list the chart grants only then.
  if (step.operation === 'uninstall' && ctx.config.uninstall.warnAboutWasmPods)
    await warnAboutWasmPods(node, ctx, log);
}

function observeJob(step: Extract<Step, { kind: 'observeJob' }>, ctx: ReconcileContext): void {
  const start = Date.parse(step.job.status.startTime ?? '');
  const end = Date.parse(jobFinishedAt(step.job) ?? '');
  if (Number.isNaN(start) || Number.isNaN(end)) return;
  ctx.metrics.jobDuration.observe(
    { operation: step.operation, result: step.result },
    Math.max(0, end - start) / 1000,
  );
}

/** Executes one step of a plan; the decisions were all made by the plan. */
export async function applyStep(
  step: Step,
  node: NodeView,
  ctx: ReconcileContext,
  log: Logger,
): Promise<void> {
  switch (step.kind) {
    case 'event':
      return ctx.events.nodeEvent(node, step.type, step.reason, step.message, log);
    case 'patchNode':
      return ctx.kube.patchNodeMetadata(node.metadata.name, {
        labels: step.labels,
        annotations: step.annotations,
      });
    case 'deleteJob':
      await ctx.kube.deleteJob(ctx.config.namespace, step.name);
      log.info({ job: step.name }, 'installer job deleted');
      return;
    case 'startJob':
      return startJob(step, node, ctx, log);
    case 'awaitSlot':
      log.debug('waiting for a rollout slot');
      return;
    case 'observeJob':
      return observeJob(step, ctx);
  }
}
