/**
 * Delay before retrying a unit whose apply failed: doubling from `initialMs`,
 * capped at `maxMs`. Pure, so tables test it. A missing image or a broken
 * spec is retried without ever spinning.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_APPLY_BACKOFF: BackoffPolicy = { initialMs: 2_000, maxMs: 300_000 };

export const retryDelayMs = (failures: number, policy: BackoffPolicy): number => {
  if (failures <= 0) return 0;
  const exponent = Math.min(failures - 1, 30);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
};
