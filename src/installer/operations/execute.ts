import type { NodeFacts } from '../facts/node-facts.ts';
import type { HostDeps } from '../host/deps.ts';
import type { InstallPlan } from '../plan/install-plan.ts';
import type { OperationRequest } from '../request.ts';
import {
  copyShimsToPath,
  removeShimsFromPath,
  undoPathWrites,
  type PathWrite,
} from '../shims/containerd-path.ts';
import { copyShims } from '../shims/copy.ts';
import { binariesInUse, pruneShims } from '../shims/prune.ts';
import { applyChange, stopIfInterrupted, type Applied } from './apply-change.ts';

/**
 * The act step of read → plan → act: puts the plan's binaries on the node, applies the config
 * change (which owns the restart and its rollback), then tidies up. Binaries go on the node only
 * once the plan is known to be possible, and come off again if the change fails, so a refused
 * or failed install leaves nothing behind.
 */
export async function execute(
  plan: InstallPlan,
  facts: NodeFacts,
  req: OperationRequest,
  deps: HostDeps,
): Promise<Applied> {
  if (plan.keep === undefined) return { changed: false, restarted: false, status: facts.cri };
  stopIfInterrupted(deps);
  const copied = plan.shims.length > 0 ? await copyShims(plan.shims, req.binDir, deps.fs) : [];
  let onPath: PathWrite[] = [];
  let applied: Applied;
  try {
    if (plan.pathShims.length > 0) {
      onPath = await copyShimsToPath(facts.containerd, plan.pathShims, req.binDir, deps.fs);
      if (onPath.length > 0)
        deps.log.info({ files: onPath.map((w) => w.file) }, "shims copied onto containerd's PATH");
    }
    applied = await applyChange(plan, facts, deps);
  } catch (err) {
    await undoPathWrites(onPath, deps.fs);
    for (const dir of copied) await deps.fs.remove(dir);
    throw err;
  }
  if (plan.unpathShims) {
    // Before the prune: a copy on PATH is recognised as ours by its binary in the bin dir.
    const removed = await removeShimsFromPath(facts.containerd, req.binDir, deps.fs);
    if (removed.length > 0)
      deps.log.info({ files: removed }, "shims removed from containerd's PATH");
  }
  const inUse = await binariesInUse(deps, facts.containerd.statePath);
  const pruned = await pruneShims(req.binDir, plan.keep, inUse, deps.fs);
  if (pruned.length > 0) deps.log.info({ removed: pruned }, 'removed binaries no longer used');
  return applied;
}
