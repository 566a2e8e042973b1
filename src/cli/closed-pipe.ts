/** What a shell reports for a process killed by SIGPIPE (128 + 13), as for `yes | head -1`. */
export const CLOSED_PIPE_EXIT = 141;

/**
 * A reader that stops early (`runner validate DIR | head -1`) closes the
 * pipe: the next write fails with EPIPE, which node reports as an 'error'
 * event and, unhandled, as a stack trace. That is no error of the runner's:
 * stop at once, quietly, with the exit code a SIGPIPE would have given (node
 * ignores the signal itself). Any other stream error stays fatal. Only the
 * entry point installs this (tests call runMain and must not exit).
 */
export const exitQuietlyWhenPipeCloses = (
  stream: NodeJS.WriteStream,
  exit: (code: number) => void = (code) => process.exit(code),
): void => {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(CLOSED_PIPE_EXIT);
  });
};
