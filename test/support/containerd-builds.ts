import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The containerd releases the real-binary tests run against: Debian's package (1.6) and
 * releases built from the Go module proxy by e2e/tools/build-containerd.sh (cached, so after
 * the first build this is instant).
 */
export const BUILT_CONTAINERD_VERSIONS = ['v1.7.35', 'v2.2.9'] as const;

export interface ContainerdBuild {
  version: string;
  major: 1 | 2;
  containerd: string;
  ctr: string;
}

const BUILD_SCRIPT = fileURLToPath(new URL('../../e2e/tools/build-containerd.sh', import.meta.url));

export function containerdBuilds(): ContainerdBuild[] {
  const debian: ContainerdBuild = {
    version: 'debian-1.6',
    major: 1,
    containerd: '/usr/bin/containerd',
    ctr: '/usr/bin/ctr',
  };
  const built = BUILT_CONTAINERD_VERSIONS.map((version): ContainerdBuild => {
    const bin = execFileSync('bash', [BUILD_SCRIPT, version], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    return {
      version,
      major: version.startsWith('v1.') ? 1 : 2,
      containerd: `${bin}/containerd`,
      ctr: `${bin}/ctr`,
    };
  });
  return [debian, ...built];
}
