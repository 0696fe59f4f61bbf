// Config fixtures for config tests: the smallest valid pipeline, and reading what a refused one says.
import type { SluiceConfigInput } from '../../src/config/schema.ts';

export const MINIMAL_CONFIG = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  application: { id: 'player-stats' },
  input: { topic: 'player-actions', key: 'playerId' },
  windows: [{ name: 'per_player_1m', groupBy: ['playerId'], tumbling: '1m', aggregates: { actions: 'count()' } }],
  output: { topic: 'player-stats' },
  deadLetter: { topic: 'player-actions.dlq' },
} satisfies SluiceConfigInput;

/** The issues of a config that `parse` refuses (SLUICE_CONFIG_INVALID's details); throws if it is accepted. */
export function refusalDetails(parse: () => unknown): unknown {
  try {
    parse();
  } catch (err) {
    return (err as { details?: unknown }).details;
  }
  throw new Error('expected the config to be refused');
}
