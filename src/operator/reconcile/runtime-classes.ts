import type { KubePort } from '../../kube/kube-port.ts';
import { buildRuntimeClass } from '../build/runtime-class.ts';
import type { Config } from '../config.ts';
import { LABELS, MANAGED_BY_VALUE } from '../keys.ts';
import type { Logger } from '../logger.ts';

/**
 * Which RuntimeClasses to apply and which to delete. A runtime dropped from the config keeps
 * its RuntimeClass while any node still carries its label (pods may still target it).
 */
export function planRuntimeClasses(
  configured: readonly string[],
  existing: readonly string[],
  stillLabelled: (runtime: string) => boolean,
): { apply: string[]; remove: string[] } {
  return {
    apply: [...configured],
    remove: existing.filter((name) => !configured.includes(name) && !stillLabelled(name)),
  };
}

export async function reconcileRuntimeClasses(ctx: {
  config: Config;
  kube: KubePort;
  log: Logger;
  stillLabelled: (runtime: string) => boolean;
}): Promise<void> {
  const existing = await ctx.kube.listRuntimeClasses(`${LABELS.managedBy}=${MANAGED_BY_VALUE}`);
  const plan = planRuntimeClasses(
    ctx.config.runtimes,
    existing.map((rc) => rc.metadata?.name ?? ''),
    ctx.stillLabelled,
  );
  // SSA every time: it is a no-op when nothing changed, and it repairs hand edits.
  for (const runtime of plan.apply)
    await ctx.kube.applyRuntimeClass(buildRuntimeClass(runtime, ctx.config));
  for (const name of plan.remove) {
    await ctx.kube.deleteRuntimeClass(name);
    ctx.log.info(
      { runtimeClass: name },
      'runtimeclass removed (runtime no longer configured or installed)',
    );
  }
}
