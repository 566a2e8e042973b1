import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { doctorCommand, renderFindings } from '../../src/cli/doctor-command.ts';
import { runMain } from '../../src/cli/run-main.ts';

describe('runner doctor', () => {
  it('renders a row per finding and the fix under each that is not ok', () => {
    const text = renderFindings([
      { check: 'podman', severity: 'ok', message: 'podman 4.3.1', fix: 'never shown for ok' },
      { check: 'network', severity: 'error', message: 'netavark needs iptables', fix: 'install iptables' },
      { check: 'boot id', severity: 'warning', message: 'cannot read boot_id\u001b[31m' },
    ]);
    assert.equal(
      text,
      [
        'CHECK    STATUS   DETAIL',
        'podman   ok       podman 4.3.1',
        'network  ERROR    netavark needs iptables',
        '                  fix: install iptables',
        'boot id  WARNING  cannot read boot_id\\x1b[31m',
        '',
        '1 error(s), 1 warning(s)',
        '',
      ].join('\n'),
    );
    assert.match(
      renderFindings([{ check: 'podman', severity: 'ok', message: 'm' }]),
      /nothing found that would stop pods from running/,
    );
  });

  it('--help prints the exit codes; an unknown flag is a usage error', async () => {
    let out = '';
    assert.equal(await doctorCommand(['--help'], (text) => (out += text)), 0);
    assert.match(
      out,
      /Exit status: 0 nothing found, 1 an error \(pods will not run\), 2 usage error,\n3 warnings only/,
    );
    assert.equal(await runMain(['doctor', '--no-such-flag']), 2);
  });
});
