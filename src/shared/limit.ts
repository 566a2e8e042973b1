/** Runs at most `concurrency` tasks at once; the rest wait in FIFO order. */
export const createLimit = (concurrency: number) => {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    active -= 1;
    queue.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((resolve) => queue.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      next();
    }
  };
};
