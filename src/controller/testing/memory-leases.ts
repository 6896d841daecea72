import type { V1Lease } from '@kubernetes/client-node';
import { ReconcileError } from '../errors.ts';
import type { LeasePort } from '../leader-elector.ts';

/** An in-memory store of one Lease with the apiserver's optimistic concurrency. */
export class MemoryLeases {
  lease: V1Lease | undefined;
  #version = 0;
  /** Identities whose calls fail (a partitioned replica). */
  readonly cutOff = new Set<string>();
  /** Identities whose calls never answer (a half-open connection, a stuck apiserver). */
  readonly hung = new Set<string>();
  /** Every call, as `<identity> <get|create|replace>`. */
  readonly calls: string[] = [];

  forIdentity(identity: string): LeasePort {
    const guard = async (call: string) => {
      this.calls.push(`${identity} ${call}`);
      if (this.hung.has(identity)) await new Promise<never>(() => undefined);
      if (this.cutOff.has(identity)) throw new ReconcileError('KubeApi', 'connection refused');
    };
    return {
      getLease: async () => (await guard('get'), structuredClone(this.lease)),
      createLease: async (lease) => {
        await guard('create');
        if (this.lease) throw new ReconcileError('Conflict', 'exists', { status: 409 });
        return this.#store(lease);
      },
      replaceLease: async (lease) => {
        await guard('replace');
        if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
          throw new ReconcileError('Conflict', 'stale', { status: 409 });
        }
        return this.#store(lease);
      },
    };
  }

  #store(lease: V1Lease): V1Lease {
    this.lease = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.#version) },
    });
    return structuredClone(this.lease);
  }
}
