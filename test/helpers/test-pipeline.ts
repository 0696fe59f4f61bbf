// The pipelines the end-to-end tests run: the oracle's view (OracleConfig) and the YAML that
// sluice reads, written from the same definitions so the two cannot drift.
import type { KafkaClientName } from '../../src/clients/port.ts';
import type { OracleAggregate, OracleConfig } from './oracle.ts';
import type { OracleNormalizeStep } from './oracle-normalize.ts';

export const DEFAULT_TEST_PIPELINE: OracleConfig = {
  keyField: 'playerId',
  idField: 'eventId',
  ttlMs: 120_000,
  eventTimeField: 'ts',
  maxRecordBytes: 1_048_576,
  windows: [
    {
      name: 'per_player_1m',
      groupBy: ['playerId'],
      sizeMs: 60_000,
      advanceMs: 60_000,
      graceMs: 10_000,
      aggregates: [
        { name: 'actions', fn: 'count' },
        { name: 'points', fn: 'sum', field: 'points' },
        { name: 'best', fn: 'max', field: 'score' },
        { name: 'worst', fn: 'min', field: 'score' },
        { name: 'avgScore', fn: 'avg', field: 'score' },
      ],
    },
    {
      name: 'per_player_5m_by_1m',
      groupBy: ['playerId', 'action'],
      sizeMs: 300_000,
      advanceMs: 60_000,
      graceMs: 30_000,
      aggregates: [{ name: 'actions', fn: 'count' }],
    },
  ],
};

/**
 * DEFAULT_TEST_PIPELINE plus a window grouped by region, which is not the input key, so its groups
 * span partitions and are merged across them.
 */
export const CROSS_TEST_PIPELINE: OracleConfig = {
  ...DEFAULT_TEST_PIPELINE,
  windows: [
    ...DEFAULT_TEST_PIPELINE.windows,
    {
      name: 'per_region_5m_by_1m',
      groupBy: ['region'],
      sizeMs: 300_000,
      advanceMs: 60_000,
      graceMs: 30_000,
      aggregates: [
        { name: 'actions', fn: 'count' },
        { name: 'points', fn: 'sum', field: 'points' },
        { name: 'best', fn: 'max', field: 'score' },
        { name: 'avgScore', fn: 'avg', field: 'score' },
      ],
    },
  ],
};

/**
 * Every aggregate of issue #13 in the three kinds of window: per player (partition-local), per
 * region (merged across partitions) and global (`groupBy: []`, one group over all partitions).
 */
export const AGGREGATES_TEST_PIPELINE: OracleConfig = {
  ...DEFAULT_TEST_PIPELINE,
  windows: [
    {
      name: 'per_player_1m',
      groupBy: ['playerId'],
      sizeMs: 60_000,
      advanceMs: 60_000,
      graceMs: 10_000,
      aggregates: [
        { name: 'opening', fn: 'first', field: 'action' },
        { name: 'closing', fn: 'last', field: 'action' },
        { name: 'regions', fn: 'countDistinct', field: 'region' },
        { name: 'score', fn: 'quantiles', field: 'score', quantiles: [0.5, 0.9, 0.99] },
        { name: 'topActions', fn: 'topK', field: 'action', k: 2, by: { fn: 'sum', field: 'points' } },
      ],
    },
    {
      name: 'per_region_5m_by_1m',
      groupBy: ['region'],
      sizeMs: 300_000,
      advanceMs: 60_000,
      graceMs: 30_000,
      aggregates: [
        { name: 'players', fn: 'countDistinct', field: 'playerId' },
        { name: 'events', fn: 'countDistinct', field: 'eventId' },
        { name: 'firstPlayer', fn: 'first', field: 'playerId' },
        { name: 'lastPlayer', fn: 'last', field: 'playerId' },
        { name: 'points', fn: 'quantiles', field: 'points', quantiles: [0.5, 0.99] },
        { name: 'leaders', fn: 'topK', field: 'playerId', k: 3, by: { fn: 'sum', field: 'points' } },
      ],
    },
    {
      name: 'global_1m',
      groupBy: [],
      sizeMs: 60_000,
      advanceMs: 60_000,
      graceMs: 10_000,
      aggregates: [
        { name: 'actions', fn: 'count' },
        { name: 'busiest', fn: 'topK', field: 'playerId', k: 5, by: { fn: 'count' } },
        // Three actions and, now and then, an odd one: a partition's window takes one odd action,
        // and an event with a second is a state-limit dead letter.
        { name: 'bestAvg', fn: 'topK', field: 'action', k: 3, by: { fn: 'avg', field: 'score' }, maxMembers: 4 },
        { name: 'firstEvent', fn: 'first', field: 'eventId' },
      ],
    },
  ],
};

/**
 * DEFAULT_TEST_PIPELINE plus a session per player: 2 s of inactivity apart, so a player has many
 * sessions, and a 10 s grace, so the generator's out-of-order events (up to 8 s back) are taken
 * and some fall between two sessions and merge them.
 */
export const SESSIONS_TEST_PIPELINE: OracleConfig = {
  ...DEFAULT_TEST_PIPELINE,
  windows: [
    ...DEFAULT_TEST_PIPELINE.windows,
    {
      name: 'player_sessions',
      groupBy: ['playerId'],
      sizeMs: 0,
      advanceMs: 0,
      sessionGapMs: 2_000,
      graceMs: 10_000,
      aggregates: [
        { name: 'actions', fn: 'count' },
        { name: 'points', fn: 'sum', field: 'points' },
        { name: 'best', fn: 'max', field: 'score' },
        { name: 'avgScore', fn: 'avg', field: 'score' },
        { name: 'opening', fn: 'first', field: 'action' },
        { name: 'regions', fn: 'countDistinct', field: 'region' },
      ],
    },
  ],
};

export type TestPipelineName = 'default' | 'cross' | 'aggregates' | 'sessions';

/** The pipeline YAML's spelling of one aggregate. */
function aggregateExpression(a: OracleAggregate): string {
  if (a.fn === 'quantiles') return `quantiles(${a.field!}, [${a.quantiles!.join(', ')}])`;
  if (a.fn === 'topK') return `topK(${a.field!}, ${a.k!}, by: ${a.by!.fn}(${a.by!.field ?? ''})${a.maxMembers === undefined ? '' : `, maxMembers: ${a.maxMembers}`})`;
  return `${a.fn}(${a.field ?? ''})`;
}

export type PipelineYamlOptions = {
  brokers: string;
  appId: string;
  input: string;
  output: string;
  dlq: string;
  stateDir: string;
  guarantee?: 'exactly-once' | 'at-least-once';
  /** Applies to partition-local windows; cross-partition windows only support `final`. */
  emit?: 'final' | 'update';
  /** `cross` describes CROSS_TEST_PIPELINE, `aggregates` AGGREGATES_TEST_PIPELINE, `sessions` SESSIONS_TEST_PIPELINE. */
  windows?: TestPipelineName;
  /** the Kafka client the engine runs on (`kafka.client`) */
  client?: KafkaClientName;
  /** `normalize:` steps (the oracle reads the same list: OracleConfig.normalize) */
  normalize?: OracleNormalizeStep[];
  /** more keys of the `kafka` section, e.g. `ssl` and `sasl` */
  kafka?: Record<string, unknown>;
  /** `closeIdleAfter` of every window (partition-local pipelines only; the oracle's `openAtEnd` of those windows is what it writes) */
  closeIdleAfter?: string;
};

export function testPipeline(name: TestPipelineName): OracleConfig {
  return { default: DEFAULT_TEST_PIPELINE, cross: CROSS_TEST_PIPELINE, aggregates: AGGREGATES_TEST_PIPELINE, sessions: SESSIONS_TEST_PIPELINE }[name];
}

/** sluice YAML for DEFAULT_TEST_PIPELINE or CROSS_TEST_PIPELINE, derived from it so the oracle and the engine cannot drift apart. */
export function pipelineYaml(opts: PipelineYamlOptions): string {
  const cfg = testPipeline(opts.windows ?? 'default');
  // JSON strings are valid YAML scalars, which sidesteps quoting rules for paths and names.
  const q = (s: string): string => JSON.stringify(s);
  const brokers = opts.brokers.split(',').map((b) => q(b.trim()));
  const lines = [
    `kafka: { brokers: [${brokers.join(', ')}], client: ${opts.client ?? 'kafkajs'}, clientId: sluice-test, sessionTimeout: 6s${Object.entries(opts.kafka ?? {}).map(([k, v]) => `, ${k}: ${JSON.stringify(v)}`).join('')} }`,
    `application: { id: ${q(opts.appId)}, guarantee: ${opts.guarantee ?? 'exactly-once'}, stateDir: ${q(opts.stateDir)} }`,
    `input: { topic: ${q(opts.input)}, format: json, key: ${cfg.keyField}, eventTime: { field: ${cfg.eventTimeField!} }, maxRecordBytes: ${cfg.maxRecordBytes} }`,
    `dedupe: { idField: ${cfg.idField!}, ttl: ${duration(cfg.ttlMs!)} }`,
    ...(opts.normalize === undefined ? [] : [`normalize: ${JSON.stringify(opts.normalize)}`]),
    'windows:',
  ];
  for (const w of cfg.windows) {
    // Quoted: a flow mapping would read the `by:` of a topK as a key.
    const aggs = w.aggregates.map((a) => `${a.name}: ${JSON.stringify(aggregateExpression(a))}`);
    lines.push(
      `  - name: ${w.name}`,
      `    groupBy: [${w.groupBy.join(', ')}]`,
      w.sessionGapMs !== undefined
        ? `    session: { gap: ${duration(w.sessionGapMs)} }`
        : w.sizeMs === w.advanceMs
          ? `    tumbling: ${duration(w.sizeMs)}`
          : `    hopping: { size: ${duration(w.sizeMs)}, advance: ${duration(w.advanceMs)} }`,
      `    grace: ${duration(w.graceMs)}`,
      ...(opts.closeIdleAfter === undefined ? [] : [`    closeIdleAfter: ${opts.closeIdleAfter}`]),
      // Sessions and cross-partition windows emit finals only.
      `    emit: ${w.groupBy[0] === cfg.keyField && w.sessionGapMs === undefined ? (opts.emit ?? 'final') : 'final'}`,
      `    aggregates: { ${aggs.join(', ')} }`,
    );
  }
  lines.push(`output: { topic: ${q(opts.output)} }`, `deadLetter: { topic: ${q(opts.dlq)} }`, 'http: { port: 0 }', '');
  return lines.join('\n');
}

function duration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
