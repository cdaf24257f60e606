export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Upper bound of the delay, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000 };

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential growth capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so that many dashboards losing the same server do not
 * all come back in the same millisecond, yet none retries sooner than half the nominal delay.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const nominal = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  const half = nominal / 2;
  return Math.round(half + random() * half);
}
