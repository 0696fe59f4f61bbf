// The config of session windows (`session: { gap }` in a window). Part of the one config schema
// (schema.ts), kept here for its size. What sessions mean is in docs/semantics.md.
import { z } from 'zod';
import { isRecord } from './raw-config.ts';
import type { ConfigIssue as Issue } from './raw-config.ts';

/** `gap` is a positive duration in ms; schema.ts hands its duration type in, to keep one definition. */
export function sessionSchema<T extends z.ZodType<number, string>>(positiveDuration: T) {
  return z
    .strictObject({
      gap: positiveDuration.describe(
        'Inactivity gap: events of a group less than `gap` apart (in event time) are one session. A session is `[first event time, last event time + gap)`; an event that comes within `gap` of two sessions merges them.',
      ),
    })
    .describe('Session windows, one per burst of activity of a group: see docs/semantics.md, "Session windows". Partition-local (`groupBy` starting with `input.key`) and `emit: final` only.');
}


/** A session window, raw (`session:`) or already normalized (`kind`), as cross-field checks see it. */
export function isSessionWindow(w: Record<string, unknown>): boolean {
  return w.session !== undefined || w.kind === 'session';
}

/**
 * What session windows do not support yet, on the possibly partial raw config: `emit: update`
 * (merging sessions would have to retract the superseded session's updates), groups that span
 * partitions (the merge stage merges fixed windows by key, not sessions by overlap), and topK
 * (its member limit cannot be kept, see hasTopK's caller).
 */
/** topK among a window's aggregates, parsed (objects with `fn`) or as written (expressions) */
function hasTopK(aggregates: unknown): boolean {
  if (Array.isArray(aggregates)) return aggregates.some((a) => isRecord(a) && a.fn === 'topK');
  if (isRecord(aggregates)) return Object.values(aggregates).some((a) => typeof a === 'string' && /^\s*topK\s*\(/.test(a));
  return false;
}

export function sessionIssues(value: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const key = isRecord(value.input) ? value.input.key : undefined;
  const windows = Array.isArray(value.windows) ? value.windows : [];
  windows.forEach((w: unknown, i) => {
    if (!isRecord(w) || !isSessionWindow(w)) return;
    const name = String(w.name);
    if (w.emit === 'update') {
      issues.push({ path: ['windows', i, 'emit'], message: `session window "${name}" supports only emit: final`, params: { code: 'SLUICE_WINDOW_UNSUPPORTED' } });
    }
    if (hasTopK(w.aggregates)) {
      // A session has no end fixed in advance, and merging sessions joins their members, so the
      // per-state member limit that keeps a topK's changelog record under the broker's limit
      // cannot be checked per event (docs/output.md, State limits).
      issues.push({ path: ['windows', i, 'aggregates'], message: `session window "${name}" cannot have a topK aggregate: a session's member list has no bound`, params: { code: 'SLUICE_WINDOW_UNSUPPORTED' } });
    }
    if (Array.isArray(w.groupBy) && w.groupBy[0] !== key) {
      issues.push({
        path: ['windows', i, 'groupBy'],
        message: `session window "${name}" must be partition-local: its groupBy must start with the input key field "${String(key)}"; sessions across partitions are not supported`,
        params: { code: 'SLUICE_WINDOW_UNSUPPORTED' },
      });
    }
  });
  return issues;
}

/** Shown in docs/config.md: a session per player, closed 5 minutes after the player's last event. */
export const SESSION_EXAMPLE = [
  {
    name: 'player_sessions',
    groupBy: ['playerId'],
    session: { gap: '5m' },
    grace: '30s',
    aggregates: { actions: 'count()', points: 'sum(points)', opening: 'first(action)' },
  },
];
