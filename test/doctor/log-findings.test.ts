import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logHostFindings } from '../../src/doctor/log-findings.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

describe('logHostFindings', () => {
  it('logs each finding that is not ok once, as a warning with its fix', async () => {
    const { logger, lines } = memoryLogger();
    await logHostFindings(
      async () => [
        { check: 'podman', severity: 'ok', message: 'podman 4.3.1' },
        { check: 'network', severity: 'error', message: 'netavark needs iptables', fix: 'install iptables' },
        { check: 'boot id', severity: 'warning', message: 'cannot read boot_id' },
      ],
      logger,
    );
    assert.deepEqual(
      lines.map((line) => [line.level, line.msg]),
      [
        ['warn', 'host check network: netavark needs iptables; fix: install iptables (runner doctor)'],
        ['warn', 'host check boot id: cannot read boot_id (runner doctor)'],
      ],
    );
  });

  it('a check that throws is one warning; after a shutdown nothing is logged', async () => {
    const { logger, lines } = memoryLogger();
    await logHostFindings(async () => {
      throw new Error('boom');
    }, logger);
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['host checks not run: boom'],
    );
    const controller = new AbortController();
    controller.abort();
    await logHostFindings(
      async () => [{ check: 'podman', severity: 'error', message: 'aborted' }],
      logger,
      controller.signal,
    );
    assert.equal(lines.length, 1);
  });
});
