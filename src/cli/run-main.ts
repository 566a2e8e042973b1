import { versionText } from '../shared/version.ts';

/** Dispatches a command line; returns the process exit code. Tests call this directly. */
export const runMain = async (argv: string[]): Promise<number> => {
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(`${versionText()}\n`);
    return 0;
  }
  process.stdout.write('usage: runner <run|validate|status> [options]\n');
  return argv.length === 0 || argv[0] === '--help' ? 0 : 2;
};
