// The up-time check that a lab's memory fits the host: MemAvailable + SwapFree against the
// sum of the VMs' memory, with an override.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabRuntimeError } from '../../src/errors.ts';
import { checkMemoryBudget, freeMemoryMiB, labMemoryMiB } from '../../src/runtime/memory-budget.ts';

const meminfo = (availableKb: number, swapFreeKb: number) =>
  `MemTotal:       24000000 kB\nMemAvailable:   ${availableKb} kB\nSwapTotal:      ${swapFreeKb} kB\nSwapFree:       ${swapFreeKb} kB\n`;
const lab = (n: number, memory: string) => ({ lab: 'big', vms: Array.from({ length: n }, () => ({ memory })) }) as Parameters<typeof checkMemoryBudget>[0];

describe('memory budget', () => {
  it('adds MemAvailable and SwapFree', () => {
    assert.equal(freeMemoryMiB(meminfo(2048 * 1024, 1024 * 1024)), 3072);
    assert.equal(freeMemoryMiB('MemTotal: 1 kB\n'), null);
  });

  it('refuses 30 VMs x 2G on a host with 24 GB free and no swap, naming both figures', () => {
    assert.equal(labMemoryMiB(lab(30, '2G')), 61440);
    assert.throws(
      () => checkMemoryBudget(lab(30, '2G'), {}, meminfo(24 * 1024 * 1024, 0)),
      (e: unknown) =>
        e instanceof LabRuntimeError &&
        /needs 61440 MiB of memory \(30 VMs\), more than the 24576 MiB/.test(e.message) &&
        /UMLAB_IGNORE_MEMORY=1/.test(e.hint ?? ''),
    );
  });

  it('accepts a lab that fits, counting swap', () => {
    checkMemoryBudget(lab(2, '128M'), {}, meminfo(1024 * 1024, 0));
    checkMemoryBudget(lab(30, '2G'), {}, meminfo(24 * 1024 * 1024, 40 * 1024 * 1024));
  });

  it('can be overridden, and says nothing without /proc/meminfo figures', () => {
    checkMemoryBudget(lab(30, '2G'), { UMLAB_IGNORE_MEMORY: '1' }, meminfo(1024, 0));
    checkMemoryBudget(lab(30, '2G'), {}, 'nothing useful');
  });
});
