// The config of idle close (`closeIdleAfter` in a window). Part of the one config schema
// (schema.ts), kept here for its size. What idle close means is in docs/semantics.md, "Idle close".
import type { z } from 'zod';
import { isRecord } from './raw-config.ts';
import type { ConfigIssue as Issue } from './raw-config.ts';

/**
 * The shortest idle time allowed: a partition with slow but steady traffic goes a fetch wait
 * (hundreds of milliseconds) without a batch, and must not look idle in between.
 */
export const CLOSE_IDLE_MIN_MS = 1000;

/** `closeIdleAfter` in ms; schema.ts hands its duration type in, to keep one definition. */
export function closeIdleAfterSchema<T extends z.ZodType<number, string>>(duration: T) {
  return duration
    .refine((ms) => ms >= CLOSE_IDLE_MIN_MS, { error: 'must be at least 1s' })
    .optional()
    .describe(
      'Close this window by wall clock when its partition is quiet: once a partition has received no input for this long, each of its open windows whose end + grace has passed on the wall clock is closed and its final written, marked `"closedBy": "idle"`; an event for it that comes later is `late`. Results of such windows depend on timing (docs/semantics.md, "Idle close"). Sessions closed this way keep their range until stream time passes it, so an event that would join one is late. Partition-local windows only (`groupBy` starting with `input.key`). Omit to close by stream time alone.',
    );
}


/** Whether a window, raw (`closeIdleAfter`) or already normalized (`closeIdleAfterMs`), closes by idleness. */
function closesIdle(w: Record<string, unknown>): boolean {
  return w.closeIdleAfter !== undefined || w.closeIdleAfterMs !== undefined;
}

/**
 * Refused, on the possibly partial raw config: cross-partition windows. One closes when every
 * source partition's watermark has passed it; a quiet partition's watermark stays where it is,
 * so closing its own share by wall clock would still not close the merged window.
 */
export function idleCloseIssues(value: Record<string, unknown>): Issue[] {
  const key = isRecord(value.input) ? value.input.key : undefined;
  const windows = Array.isArray(value.windows) ? value.windows : [];
  const issues: Issue[] = [];
  windows.forEach((w: unknown, i) => {
    if (!isRecord(w) || !closesIdle(w)) return;
    if (!Array.isArray(w.groupBy) || w.groupBy[0] === key) return;
    issues.push({
      path: ['windows', i, 'closeIdleAfter'],
      message: `window "${String(w.name)}" groups by [${w.groupBy.join(', ')}], which spans partitions (it does not start with the input key field "${String(key)}"); closeIdleAfter applies to partition-local windows only`,
      params: { code: 'SLUICE_WINDOW_UNSUPPORTED' },
    });
  });
  return issues;
}

/** Shown in docs/config.md: a player's minute gets its final 30 s after the player's partition went quiet. */
export const IDLE_CLOSE_EXAMPLE = [
  {
    name: 'per_player_1m',
    groupBy: ['playerId'],
    tumbling: '1m',
    grace: '10s',
    closeIdleAfter: '30s',
    aggregates: { actions: 'count()', points: 'sum(points)' },
  },
];
