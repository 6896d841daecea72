import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';

/** An installer pod as the kubelet leaves it: its container terminated (or not yet). */
export function installerPod(
  name: string,
  created: Date,
  terminated?: { message?: string; exitCode: number; reason?: string },
  owner?: V1OwnerReference,
): V1Pod {
  return {
    metadata: { name, creationTimestamp: created, ownerReferences: owner ? [owner] : undefined },
    status: {
      containerStatuses: [
        {
          name: 'installer',
          image: 'i',
          imageID: '',
          ready: false,
          restartCount: 0,
          ...(terminated ? { state: { terminated } } : {}),
        },
      ],
    },
  };
}
