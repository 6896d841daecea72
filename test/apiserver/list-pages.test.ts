import { describe, expect, it } from '@jest/globals';
import { setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { listAllPages } from '../../src/controller/informer.ts';
import { METADATA_LIST } from '../../src/kube/api-informers.ts';
import { createNode } from './support/test-cluster.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';

const bed = useOperatorTestbed();
const name = (raw: unknown) => (raw as V1Node).metadata?.name;

describe("the informers' paged list against kube-apiserver", () => {
  it.each([
    ['full objects', undefined],
    ['PartialObjectMetadata', setHeaderOptions('Accept', METADATA_LIST)],
  ])(
    'follows continue tokens (%s) and serves one snapshot: a node created between pages is left to the watch',
    async (_kind, options) => {
      for (let i = 0; i < 5; i++) await createNode(bed.c, `page-${i}`);
      let requests = 0;
      const listed = await listAllPages(
        async (page) => {
          if (++requests === 2) await createNode(bed.c, 'page-late');
          return bed.c.core.listNode(page, options);
        },
        name,
        2,
      );
      expect(listed.items).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
      expect(requests).toBe(3);
      const now = await bed.c.core.listNode();
      expect(now.items.map((n) => n.metadata?.name)).toContain('page-late');
      // The watch resumes from the snapshot, so it will deliver page-late as ADDED.
      expect(Number(listed.metadata.resourceVersion)).toBeLessThan(
        Number(now.metadata?.resourceVersion),
      );
    },
    30_000,
  );
});
