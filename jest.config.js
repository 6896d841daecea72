// Native-ESM Jest: @kubernetes/client-node 2.x ships ESM only. @swc/jest strips types
// (tsc --noEmit checks them), so the test run does not depend on the TypeScript version.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
  ],
};
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform,
};

/** @type {import('jest').Config} */
export default {
  projects: [
    // Pure logic and fakes: no host tools needed, seconds to run.
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.test.ts'] },
    // Real containerd binaries (Debian 1.6 and releases built from the Go module proxy).
    {
      ...common,
      displayName: 'containerd',
      testMatch: ['<rootDir>/test/containerd/**/*.test.ts'],
    },
    // The Helm chart rendered and linted by a real helm: what each value renders into.
    { ...common, displayName: 'chart', testMatch: ['<rootDir>/test/chart/**/*.test.ts'] },
    // The test harness itself (control plane launcher and the like), against real binaries.
    { ...common, displayName: 'harness', testMatch: ['<rootDir>/test/support/**/*.test.ts'] },
    // A real kube-apiserver + etcd (control-plane mode of the local cluster).
    {
      ...common,
      displayName: 'apiserver',
      testMatch: ['<rootDir>/test/apiserver/**/*.test.ts'],
    },
    // systemd machines (systemd-nspawn, Debian rootfs, their containerd.service): each test
    // boots its own, so files run in parallel next to the cluster.
    { ...common, displayName: 'machines', testMatch: ['<rootDir>/test/machines/**/*.test.ts'] },
    // The full local cluster with a real kubelet.
    { ...common, displayName: 'cluster', testMatch: ['<rootDir>/e2e/**/*.test.ts'] },
  ],
};
