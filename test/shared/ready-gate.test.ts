import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadyGate } from '../../src/shared/ready-gate.ts';

describe('ReadyGate', () => {
  const orders: { name: string; steps: ('manifestsRead' | 'podmanListed')[]; readyAfter: number | undefined }[] = [
    { name: 'manifests read, then podman listed', steps: ['manifestsRead', 'podmanListed'], readyAfter: 2 },
    { name: 'podman listed, then manifests read', steps: ['podmanListed', 'manifestsRead'], readyAfter: 2 },
    { name: 'manifests only', steps: ['manifestsRead', 'manifestsRead'], readyAfter: undefined },
    { name: 'listings only', steps: ['podmanListed', 'podmanListed', 'podmanListed'], readyAfter: undefined },
    {
      name: 'more listings after ready: once',
      steps: ['manifestsRead', 'podmanListed', 'podmanListed', 'manifestsRead'],
      readyAfter: 2,
    },
  ];
  for (const { name, steps, readyAfter } of orders) {
    it(name, () => {
      const calls: number[] = [];
      const gate = new ReadyGate(() => calls.push(done));
      let done = 0;
      for (const step of steps) {
        done += 1;
        gate[step]();
      }
      assert.deepEqual(calls, readyAfter === undefined ? [] : [readyAfter]);
      assert.equal(gate.isReady, readyAfter !== undefined);
    });
  }
});
