import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InstallError } from '../errors.ts';
import type { HostFs } from '../host/fs.ts';
import type { ShimPlan } from './manifest.ts';
import { relocate } from './relocate.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Copies planned binaries that are not on the node yet; returns the content directories it
 * wrote into, for removal if the install fails after all.
 */
export async function copyShims(
  plans: readonly ShimPlan[],
  binDir: string,
  fs: HostFs,
): Promise<string[]> {
  if (!(await fs.ensureWritableDir(binDir))) {
    throw new InstallError(
      'bin-dir-not-writable',
      `${binDir} is not writable on this node (read-only /opt, as on Flatcar or COS?); set the installer's --bin-dir to a writable directory on containerd's host`,
    );
  }
  const written: string[] = [];
  for (const plan of plans) {
    if (plan.bundle) {
      if (await copyBundle(plan.bundle, fs)) written.push(plan.bundle.root);
      continue;
    }
    const present = await fs.readBytes(plan.path);
    if (present !== undefined && sha256(present) === plan.sha256) continue;
    await fs.ensureWritableDir(dirname(plan.path));
    await fs.writeAtomic(plan.path, plan.bytes, { mode: 0o755 });
    written.push(dirname(plan.path));
  }
  return written;
}

/**
 * Relocated files (the runtime's binary) go last, so a bundle whose copy was interrupted has
 * no entry point yet; a retry completes it, skipping files already in place.
 */
async function copyBundle(
  bundle: Extract<ShimPlan, { bundle: object }>['bundle'],
  fs: HostFs,
): Promise<boolean> {
  const ordered = [
    ...bundle.files.filter((f) => !f.relocate),
    ...bundle.files.filter((f) => f.relocate),
  ];
  let wrote = false;
  for (const f of ordered) {
    await fs.ensureWritableDir(dirname(f.path));
    if (f.relocate) {
      const original = await readFile(f.source);
      if (sha256(original) !== f.sha256) {
        throw new InstallError('checksum-mismatch', `${f.source} changed after it was verified`);
      }
      const bytes = relocate(original, bundle.placeholder, bundle.root);
      if ((await fs.readBytes(f.path))?.equals(bytes)) continue;
      await fs.writeAtomic(f.path, bytes, { mode: f.mode });
    } else {
      if ((await fs.sha256(f.path)) === f.sha256) continue;
      await fs.copyAtomic(f.source, f.path, f.mode);
      const copied = await fs.sha256(f.path);
      if (copied !== f.sha256) {
        throw new InstallError(
          'checksum-mismatch',
          `${f.path} has sha256 ${copied} after copying, expected ${f.sha256}`,
        );
      }
    }
    wrote = true;
  }
  return wrote;
}
