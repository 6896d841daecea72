import { afterAll, afterEach, beforeAll } from '@jest/globals';
import type { ConfigInput } from '../../../src/operator/config.ts';
import { resetCluster, startCluster, type TestCluster } from './test-cluster.ts';
import { FakeKubelet } from './fake-kubelet.ts';
import { JobActivity } from './job-activity.ts';
import { startOperator, type RunningOperator } from './operator-harness.ts';

export interface OperatorTestbed {
  readonly c: TestCluster;
  /** Acts as kubelet and Job controller through the status subresources. */
  readonly kubelet: FakeKubelet;
  /** An in-process operator, stopped when the test ends. */
  startOperator(overrides?: ConfigInput, identity?: string): Promise<RunningOperator>;
  /** Records every installer Job transition until the test ends. */
  watchJobs(): Promise<JobActivity>;
}

/**
 * The set-up every operator test file shares: one control plane per file, and after each test
 * its operators and watches stopped and the cluster emptied, so a failing test cannot leak a
 * running operator into the next one.
 */
export function useOperatorTestbed(): OperatorTestbed {
  let cluster: TestCluster | undefined;
  let kubelet: FakeKubelet | undefined;
  const operators: RunningOperator[] = [];
  const watchers: JobActivity[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    kubelet = new FakeKubelet(cluster, { actAsJobController: true });
  }, 60_000);
  afterEach(async () => {
    for (const w of watchers.splice(0)) w.stop();
    await Promise.all(operators.splice(0).map((op) => op.stop()));
    if (cluster) await resetCluster(cluster);
  });
  afterAll(() => cluster?.stop());

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the testbed is used before its beforeAll ran');
    return value;
  };
  return {
    get c() {
      return started(cluster);
    },
    get kubelet() {
      return started(kubelet);
    },
    async startOperator(overrides, identity) {
      const op = await startOperator(started(cluster), overrides, identity);
      operators.push(op);
      return op;
    },
    async watchJobs() {
      const watcher = await JobActivity.start(started(cluster));
      watchers.push(watcher);
      return watcher;
    },
  };
}
