import type { V1RuntimeClass } from '@kubernetes/client-node';
import { buildRuntimeClass } from '../build/runtime-class.ts';
import type { Config } from '../config.ts';
import type { EventRecorder } from '../event-recorder.ts';
import { LABELS, MANAGED_BY_VALUE, runtimeLabel } from '../keys.ts';
import type { Logger } from '../logger.ts';
import type { ReconcileContext } from './context.ts';

/** What the fleet says about a runtime's nodes. */
export interface RuntimeFleet {
  /** Some node still carries its label (pods may still target it). */
  stillLabelled(runtime: string): boolean;
  /** Some node carries only the pre-steering ready label, not yet re-verified. */
  migrating(runtime: string): boolean;
}

export interface RuntimeClassPlan {
  apply: { runtime: string; readableSelector: boolean }[];
  remove: string[];
  /** Configured runtimes whose RuntimeClass someone else made: left alone. */
  conflicts: V1RuntimeClass[];
}

const ours = (rc: V1RuntimeClass) => rc.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY_VALUE;
const selectsReadable = (rc: V1RuntimeClass | undefined, runtime: string) =>
  rc?.scheduling?.nodeSelector?.[runtimeLabel(runtime)] !== undefined;

/**
 * Which RuntimeClasses to apply, delete or leave. A runtime dropped from the config keeps its
 * RuntimeClass while any node still carries its label (pods may still target it). A
 * RuntimeClass of the same name that is not ours is taken over only when the user said so:
 * server-side apply with force would silently make it ours, and later delete it.
 * A RuntimeClass of ours that still selects the readable label (made before the steering
 * label) keeps doing so until no node awaits re-verification: switching earlier would stop
 * scheduling on nodes that serve the runtime. The switch is one-way.
 */
export function planRuntimeClasses(
  config: Pick<Config, 'runtimes' | 'runtimeClass'>,
  existing: readonly V1RuntimeClass[],
  fleet: RuntimeFleet,
): RuntimeClassPlan {
  const byName = new Map(existing.map((rc) => [rc.metadata?.name ?? '', rc]));
  const foreign = (name: string) => {
    const rc = byName.get(name);
    return rc !== undefined && !ours(rc) && !config.runtimeClass.adoptExisting;
  };
  return {
    apply: config.runtimes
      .filter((name) => !foreign(name))
      .map((runtime) => ({
        runtime,
        readableSelector: selectsReadable(byName.get(runtime), runtime) && fleet.migrating(runtime),
      })),
    remove: existing
      .filter(ours)
      .map((rc) => rc.metadata?.name ?? '')
      .filter((name) => !config.runtimes.includes(name) && !fleet.stillLabelled(name)),
    conflicts: config.runtimes.filter(foreign).map((name) => byName.get(name)!),
  };
}

function reportConflict(rc: V1RuntimeClass, events: EventRecorder, log: Logger): Promise<void> {
  const { name = '', uid = '' } = rc.metadata ?? {};
  const by = rc.metadata?.labels?.[LABELS.managedBy] ?? 'someone else';
  return events.event(
    { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', name, uid },
    'Warning',
    'RuntimeClassConflict',
    `RuntimeClass ${name} (handler ${rc.handler}) was made by ${by}, not wasm-node-operator: it is left as it is, and its pods are not steered to verified nodes. Delete it, or set runtimeClass.adoptExisting: true to let the operator take it over.`,
    log,
  );
}

export async function reconcileRuntimeClasses(
  ctx: Pick<ReconcileContext, 'config' | 'kube' | 'log' | 'events'> & { fleet: RuntimeFleet },
): Promise<void> {
  // All of them, not only ours: a same-named one of someone else's must be seen to be spared.
  const existing = await ctx.kube.listRuntimeClasses('');
  const plan = planRuntimeClasses(ctx.config, existing, ctx.fleet);
  // SSA every time: it is a no-op when nothing changed, and it repairs hand edits.
  for (const { runtime, readableSelector } of plan.apply)
    await ctx.kube.applyRuntimeClass(buildRuntimeClass(runtime, ctx.config, { readableSelector }));
  for (const rc of plan.conflicts) await reportConflict(rc, ctx.events, ctx.log);
  for (const name of plan.remove) {
    await ctx.kube.deleteRuntimeClass(name);
    ctx.log.info(
      { runtimeClass: name },
      'runtimeclass removed (runtime no longer configured or installed)',
    );
  }
}
