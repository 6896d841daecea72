import { writeFile } from 'node:fs/promises';
import { registeredHandlers, type RuntimeStatus } from '../../cri/runtime-status.ts';
import type { InstallReport, RuntimeReport } from '../../formats/install-report.ts';
import type { InstallPlan } from '../plan/install-plan.ts';

/** What the report says about each runtime, from the plan and the CRI status at the end. */
export function runtimeReports(
  plan: InstallPlan,
  status: RuntimeStatus | undefined,
): RuntimeReport[] {
  const handlers = status ? registeredHandlers(status) : new Map<string, string>();
  const owned = new Set(plan.owned);
  switch (plan.operation) {
    case 'install': {
      const adopted = new Map(plan.change?.patch.adopted.map((a) => [a.name, a.runtimePath]));
      return plan.shims.map((s) => ({
        name: s.runtime.name,
        version: s.version,
        sha256: s.sha256,
        path: adopted.has(s.runtime.name) ? adopted.get(s.runtime.name) : s.path,
        verified: handlers.get(s.runtime.name) === s.runtime.runtimeType,
        adopted: adopted.has(s.runtime.name),
      }));
    }
    case 'uninstall':
      return plan.owned.map((name) => ({ name, verified: !handlers.has(name), adopted: false }));
    case 'status':
      return plan.requested.map((r) => ({
        name: r.name,
        verified: handlers.get(r.name) === r.runtimeType,
        adopted: handlers.has(r.name) && !owned.has(r.name),
      }));
  }
}

/**
 * The kubelet keeps at most 4096 bytes of a termination message; long error texts are cut so
 * the JSON stays whole and parseable.
 */
export function terminationMessage(report: InstallReport): string {
  const full = JSON.stringify(report);
  const excess = Buffer.byteLength(full) - 4000;
  if (excess <= 0 || report.error === undefined) return full;
  // Cutting characters by the byte excess is enough: a character is at least one byte.
  const room = Math.max(200, report.error.message.length - excess);
  return JSON.stringify({
    ...report,
    error: { ...report.error, message: report.error.message.slice(0, room) },
  });
}

export async function writeTerminationMessage(path: string, report: InstallReport): Promise<void> {
  await writeFile(path, terminationMessage(report));
}
