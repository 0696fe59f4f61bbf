// The smallest valid pipeline config, as a user writes it: config tests add what they check.
import type { SluiceConfigInput } from '../../src/config/schema.ts';

export const MINIMAL_CONFIG = {
  kafka: { brokers: ['127.0.0.1:9092'] },
  application: { id: 'player-stats' },
  input: { topic: 'player-actions', key: 'playerId' },
  windows: [{ name: 'per_player_1m', groupBy: ['playerId'], tumbling: '1m', aggregates: { actions: 'count()' } }],
  output: { topic: 'player-stats' },
  deadLetter: { topic: 'player-actions.dlq' },
} satisfies SluiceConfigInput;
