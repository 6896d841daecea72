import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { FakeClock } from '../controller/testing/fake-clock.ts';
import type { EventSpec, KubePort } from '../kube/kube-port.ts';
import { EventRecorder } from './event-recorder.ts';
import { nodeView } from './testing/fixtures.ts';

describe('EventRecorder', () => {
  it('drops repeats of the same node, reason and message within the window', async () => {
    const sent: EventSpec[] = [];
    const kube = { createEvent: async (e: EventSpec) => void sent.push(e) } as unknown as KubePort;
    const clock = new FakeClock();
    const recorder = new EventRecorder({ kube, clock, namespace: 'default', windowMs: 60_000 });
    const log = pino({ level: 'silent' });
    const node = nodeView('n');
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'bad', log);
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'bad', log);
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'other', log);
    await clock.advance(60_000);
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'bad', log);
    expect(sent.map((e) => e.message)).toEqual(['bad', 'other', 'bad']);
    expect(sent[0]).toMatchObject({
      namespace: 'default',
      involved: { apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'uid-n' },
    });
  });
});
