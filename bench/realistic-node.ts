import type { V1Node } from '@kubernetes/client-node';

/**
 * What a kubelet reports about itself, sized like a real node's status (~40 cached images,
 * conditions, addresses, nodeInfo): a full Node watch pays for all of it, a metadata-only one
 * for none.
 */
export function realisticNode(name: string, annotations: Record<string, string>): V1Node {
  const now = new Date();
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: `kubelet reports ${type} ${status}`,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  const resources = {
    cpu: '8',
    memory: '32876544Ki',
    'ephemeral-storage': '101430960Ki',
    pods: '110',
    'hugepages-2Mi': '0',
  };
  return {
    metadata: {
      name,
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...annotations,
      },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'm6i.2xlarge',
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': `eu-west-1${'abc'[name.length % 3]}`,
      },
    },
    spec: { podCIDR: '10.244.0.0/24', providerID: `aws:///eu-west-1a/i-${name}` },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
        condition('Ready', 'True', 'KubeletReady'),
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.12.34' },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: 'ec2a7c3e1f4b4d5e8a9b0c1d2e3f4a5b',
        systemUUID: 'ec2a7c3e-1f4b-4d5e-8a9b-0c1d2e3f4a5b',
        bootID: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
        kernelVersion: '6.8.0-1021-aws',
        osImage: 'Ubuntu 24.04.1 LTS',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.34.4',
        kubeProxyVersion: 'v1.34.4',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: Array.from({ length: 40 }, (_, i) => ({
        names: [
          `registry.example.com/team-${i % 7}/service-${i}@sha256:${'0123456789abcdef'.repeat(4)}`,
          `registry.example.com/team-${i % 7}/service-${i}:v1.${i}.0`,
        ],
        sizeBytes: 50_000_000 + i * 1_234_567,
      })),
    },
  };
}
