import { IPoll, Poll } from '@lumino/polling';

/**
 * The longest wait between two polls after failures (backoff), in milliseconds.
 */
const MAX_BACKOFF = 5 * 60 * 1000;

/**
 * Poll frequency for an interval in milliseconds (`0` or less: never).
 */
export function pollFrequency(milliseconds: number): IPoll.Frequency {
  if (!(milliseconds > 0)) {
    return { backoff: false, interval: Poll.NEVER, max: Poll.NEVER };
  }
  const interval = Math.min(Math.round(milliseconds), Poll.MAX_INTERVAL);
  return {
    backoff: true,
    interval,
    max: Math.max(interval, MAX_BACKOFF)
  };
}

/**
 * Record a performance mark (used by the UI tests to time first renders); never throws.
 */
export function mark(name: string): void {
  try {
    performance.mark(name);
  } catch {
    // Marks are diagnostics only.
  }
}
