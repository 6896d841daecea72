import { addRuntimes, removeRuntimes, type PatchResult } from '../../containerd/patch-config.ts';
import { splitManagedBlock } from '../../containerd/managed-block.ts';
import type { RuntimeInstall } from '../../containerd/runtime-entry.ts';
import type { TomlTable } from '../../containerd/toml-table.ts';
import { InstallError } from '../errors.ts';
import type { EditTarget } from './node-flavour.ts';

/** First line of a config we had to create, so uninstall knows to delete it again. */
export const SEEDED_MARKER =
  '# Seeded by wasm-node-installer from `containerd config default`; deleted again on uninstall';

export interface ConfigChange {
  target: EditTarget;
  /** The edit target's text now, undefined when the file does not exist. */
  before: string | undefined;
  /** Its text after the change, undefined to delete it. */
  after: string | undefined;
  /** What containerd will read once the change is in place (rendered template, drop-in alone). */
  effective: string;
  /** What it reads now, to compare against; undefined when there is nothing to compare. */
  effectiveBefore: string | undefined;
  patch: PatchResult;
}

/** The config files as the node has them now. */
export interface ConfigFiles {
  target: string | undefined;
  /** The file the distribution rendered from a template, for `template` targets. */
  rendered: string | undefined;
  /** `containerd config default` of the node's binary, read when a plain config is missing. */
  seed: string | undefined;
  /** The version key of the distribution's own config, for drop-ins. */
  version: number;
}

function spliceBlock(into: string, from: string): string {
  const { base, at } = splitManagedBlock(into);
  const { block } = splitManagedBlock(from);
  return block === undefined ? base : base.slice(0, at) + block + base.slice(at);
}

function requireSeed(target: EditTarget, files: ConfigFiles): string {
  if (files.seed === undefined)
    throw new InstallError('config-missing', `${target.path} is missing and no default was read`);
  return files.seed;
}

function requireRendered(target: EditTarget & { kind: 'template' }, files: ConfigFiles): string {
  if (files.rendered === undefined) {
    throw new InstallError(
      'config-missing',
      `${target.renderedPath} does not exist yet; let the distribution start containerd once first`,
    );
  }
  return files.rendered;
}

/**
 * The change that puts our runtimes in place, from the files as they are now. `builtIn`:
 * containerd's built-in runtimes where it forgets them once a file declares any (1.x).
 */
export function planInstall(
  target: EditTarget,
  files: ConfigFiles,
  runtimes: readonly RuntimeInstall[],
  builtIn?: TomlTable,
): ConfigChange {
  switch (target.kind) {
    case 'config': {
      const text = files.target ?? `${SEEDED_MARKER}\n${requireSeed(target, files)}`;
      const patch = addRuntimes(text, { runtimes, builtIn });
      return {
        target,
        before: files.target,
        after: patch.text,
        effective: patch.text,
        effectiveBefore: files.target,
        patch,
      };
    }
    case 'template': {
      // Our block is computed against the rendered file (its namespace, runc's cgroup driver,
      // handlers the distribution already registers), then carried into the template.
      const rendered = requireRendered(target, files);
      const patch = addRuntimes(rendered, { runtimes, builtIn });
      const template = files.target ?? target.base;
      const after = spliceBlock(template, patch.text);
      return {
        target,
        before: files.target,
        after: files.target === undefined && after === target.base ? undefined : after,
        effective: patch.text,
        effectiveBefore: rendered,
        patch,
      };
    }
    case 'drop-in': {
      // Merged by the distribution into a config that declares its own runtimes: no built-ins.
      const patch = addRuntimes(`version = ${files.version}\n`, { runtimes });
      return {
        target,
        before: files.target,
        after: patch.text,
        effective: patch.text,
        effectiveBefore: undefined,
        patch,
      };
    }
  }
}

/** The change that takes our runtimes out again, leaving every byte that was not ours. */
export function planUninstall(target: EditTarget, files: ConfigFiles): ConfigChange {
  switch (target.kind) {
    case 'config': {
      const text = files.target ?? '';
      const patch = removeRuntimes(text);
      const seeded = patch.text.startsWith(`${SEEDED_MARKER}\n`);
      return {
        target,
        before: files.target,
        after: seeded || files.target === undefined ? undefined : patch.text,
        effective: patch.text,
        effectiveBefore: files.target,
        patch,
      };
    }
    case 'template': {
      const rendered = removeRuntimes(requireRendered(target, files));
      const after = files.target === undefined ? undefined : splitManagedBlock(files.target).base;
      // A template that is only the distribution's base is the same as no template at all.
      return {
        target,
        before: files.target,
        after: after === target.base ? undefined : after,
        effective: rendered.text,
        effectiveBefore: files.rendered,
        patch: rendered,
      };
    }
    case 'drop-in': {
      const patch = removeRuntimes(`version = ${files.version}\n`);
      return {
        target,
        before: files.target,
        after: undefined,
        effective: patch.text,
        effectiveBefore: undefined,
        patch,
      };
    }
  }
}
