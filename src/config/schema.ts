// The one definition of the pipeline config. The TypeScript type, the Helm values schema and
// docs/config.md are all derived from it (see artifacts.ts), so a field documented or typed
// anywhere else is a field that will drift.
import { z } from 'zod';
import { COMPRESSION_NAMES } from '../clients/port.ts';
import { enrichIssues, enrichSchema, tablesSchema } from './enrich-schema.ts';
import { normalizeSection } from './normalize-schema.ts';
import { closeIdleAfterSchema, idleCloseIssues } from './idle-schema.ts';
import { isSessionWindow, sessionIssues, sessionSchema } from './session-schema.ts';
import { isRecord } from './raw-config.ts';
import { saslSchema, sslSchema } from './security-schema.ts';

export const DURATION_MESSAGE = 'expected a duration like "10s"';
/** Exported so the docs generator can show "duration" instead of a raw regex. */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

/** "10s" → 10000; undefined for anything that is not a single integer and unit. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The inverse of parseDuration, choosing the largest unit that divides evenly. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}

// Missing required fields read better as "required" than as zod's "expected string, received
// undefined"; load.ts passes this as the per-parse error map too.
export const requiredErrorMap: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined;

const durationError: z.core.$ZodErrorMap = (issue) => requiredErrorMap(issue) ?? DURATION_MESSAGE;

const duration = z
  .string({ error: durationError })
  .regex(DURATION_PATTERN, { error: DURATION_MESSAGE })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_MESSAGE });
      return z.NEVER;
    }
    return ms;
  });

const positiveDuration = duration.refine((ms) => ms > 0, { error: 'must be longer than 0' });

const positiveInt = z.int().positive();

// Kafka's own rules for topic names; checking them here fails at startup, not at first produce.
const topicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[A-Za-z0-9._-]+$/, { error: 'topic names may only contain letters, digits, ".", "_" and "-"' })
  .refine((name) => name !== '.' && name !== '..', { error: 'topic name cannot be "." or ".."' });

const fieldName = z.string().min(1, { error: 'field name cannot be empty' });

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const broker = z
  .string()
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'expected host:port, e.g. "127.0.0.1:9092"' })
  .refine((hostPort) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)) <= 65_535, {
    error: 'port must be at most 65535',
  });

const NUMERIC_FNS = ['sum', 'min', 'max', 'avg'] as const;
const SCALAR_FNS = ['first', 'last', 'countDistinct'] as const;
type NumericFn = (typeof NUMERIC_FNS)[number];
type ScalarFn = (typeof SCALAR_FNS)[number];
/** The most members a topK writes per window and group. */
export const TOP_K_MAX = 1000;
/** The members a topK's state holds per window and group (and source partition), unless it says otherwise. */
export const TOP_K_DEFAULT_MEMBERS = 10_000;
/** The highest `maxMembers` a topK may set; its window's byte limit (docs/output.md) may bind first. */
export const TOP_K_MAX_MEMBERS = 100_000;

// One pattern per form; a field is anything but parentheses, brackets, commas and whitespace.
const FIELD = String.raw`\s*([^()[\],\s]+)\s*`;
const COUNT = String.raw`count\(\s*\)`;
const RANK = String.raw`(?:${COUNT}|(${NUMERIC_FNS.join('|')})\(${FIELD}\))`;
const aggregateForms = {
  count: new RegExp(String.raw`^\s*${COUNT}\s*$`),
  field: new RegExp(String.raw`^\s*(${[...NUMERIC_FNS, ...SCALAR_FNS].join('|')})\(${FIELD}\)\s*$`),
  quantiles: new RegExp(String.raw`^\s*quantiles\(${FIELD},\s*\[([^\]]*)\]\s*\)\s*$`),
  topK: new RegExp(String.raw`^\s*topK\(${FIELD},\s*(\d+)\s*,\s*by\s*:\s*${RANK}(?:\s*,\s*maxMembers\s*:\s*(\d+))?\s*\)\s*$`),
};
const QUANTILE = /^\s*(?:[01]|0?\.\d+|1\.0+)\s*$/;
/** Every form at once: what the Helm values schema can check before sluice parses the details. */
const AGGREGATE_PATTERN = new RegExp(Object.values(aggregateForms).map((form) => `(?:${form.source})`).join('|'));

type RankSpec = { fn: 'count'; field: undefined } | { fn: NumericFn; field: string };
type ParsedAggregate =
  | { fn: 'count'; field: undefined }
  | { fn: NumericFn | ScalarFn; field: string }
  | { fn: 'quantiles'; field: string; quantiles: number[] }
  | { fn: 'topK'; field: string; k: number; by: RankSpec; maxMembers: number };

const aggregateMessage = (expr: unknown) =>
  `expected count(), sum|min|max|avg|first|last|countDistinct(<field>), quantiles(<field>, [<q>, ...]) or topK(<field>, <k>, by: <count() or sum|min|max|avg(<field>)>[, maxMembers: <n>]), got ${JSON.stringify(expr)}`;

/**
 * The output name of a quantile: `p` and the percentage, e.g. 0.5 -> p50, 0.999 -> p99.9 (rounded
 * to 12 significant digits, so 0.999 does not come out as 99.89999999999999).
 */
export function quantileLabel(q: number): string {
  return `p${Number((q * 100).toPrecision(12))}`;
}

/** The aggregate an expression describes, or why it describes none. */
function parseAggregate(expr: string): ParsedAggregate | string {
  if (aggregateForms.count.test(expr)) return { fn: 'count', field: undefined };
  const plain = aggregateForms.field.exec(expr);
  if (plain) return { fn: plain[1] as NumericFn | ScalarFn, field: plain[2]! };
  const quantiles = aggregateForms.quantiles.exec(expr);
  if (quantiles) {
    const items = quantiles[2]!.split(',');
    if (items.some((q) => !QUANTILE.test(q))) return `quantiles takes a list of numbers between 0 and 1, e.g. [0.5, 0.99], got [${quantiles[2]!}]`;
    const qs = items.map(Number);
    const labels = qs.map(quantileLabel);
    const twice = labels.find((label, i) => labels.indexOf(label) !== i);
    if (twice !== undefined) return `quantiles lists ${twice} twice`;
    return { fn: 'quantiles', field: quantiles[1]!, quantiles: qs };
  }
  const top = aggregateForms.topK.exec(expr);
  if (top) {
    const k = Number(top[2]);
    if (!(k >= 1 && k <= TOP_K_MAX)) return `topK keeps 1 to ${TOP_K_MAX} members, got ${top[2]!}`;
    const by: RankSpec = top[3] === undefined ? { fn: 'count', field: undefined } : { fn: top[3] as NumericFn, field: top[4]! };
    const maxMembers = top[5] === undefined ? TOP_K_DEFAULT_MEMBERS : Number(top[5]);
    if (!(maxMembers >= k && maxMembers <= TOP_K_MAX_MEMBERS)) return `topK's maxMembers must be between k (${k}) and ${TOP_K_MAX_MEMBERS}, got ${top[5]!}`;
    return { fn: 'topK', field: top[1]!, k, by, maxMembers };
  }
  return aggregateMessage(expr);
}

const aggregateExpression = z
  .string({ error: (issue) => aggregateMessage(issue.input) })
  .regex(AGGREGATE_PATTERN, { error: (issue) => aggregateMessage(issue.input) })
  .transform((expr, ctx) => {
    const parsed = parseAggregate(expr);
    if (typeof parsed !== 'string') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  })
  .describe(
    'One of: `count()`; `sum(<field>)`, `min(<field>)`, `max(<field>)`, `avg(<field>)` over a numeric field; ' +
      '`first(<field>)`, `last(<field>)` (the value of the earliest / latest event by event time), `countDistinct(<field>)` (HyperLogLog estimate) over a field of any scalar type; ' +
      '`quantiles(<field>, [<q>, ...])` over a numeric field (DDSketch, 1% relative error; written as `{"p50": ..., "p99": ...}`); ' +
      `\`topK(<field>, <k>, by: <aggregate>)\`: the k (1-${TOP_K_MAX}) members of <field> with the highest \`count()\`, \`sum\`, \`min\`, \`max\` or \`avg\` of a numeric field within the window; ` +
      `\`topK(<field>, <k>, by: <aggregate>, maxMembers: <n>)\` bounds the members its state holds per window and group (default ${TOP_K_DEFAULT_MEMBERS}, at most ${TOP_K_MAX_MEMBERS}): an event that would add one more is a \`state-limit\` dead letter (docs/output.md, "State limits"). ` +
      'Example: `{ players: countDistinct(playerId), first: first(action), latency: quantiles(ms, [0.5, 0.99]), leaders: topK(playerId, 10, by: sum(points)) }`. See docs/output.md for each result.',
  );

const aggregates = z
  .record(
    z.string().regex(IDENTIFIER, { error: 'aggregate names must match /^[A-Za-z_][A-Za-z0-9_]*$/' }),
    aggregateExpression,
  )
  .refine((record) => Object.keys(record).length > 0, { error: 'at least one aggregate is required' })
  .meta({
    minProperties: 1,
    description: 'Aggregates to compute, keyed by output field name. At least one.',
  })
  // Structured, ordered as written, so the aggregator never re-parses expressions.
  .transform((record) => Object.entries(record).map(([name, agg]) => ({ name, ...agg })));

const hopping = z
  .strictObject({
    size: positiveDuration.describe('Window length.'),
    advance: positiveDuration.describe('How far each successive window starts after the previous one.'),
  })
  .superRefine(({ size, advance }, ctx) => {
    // A zero size or advance was already reported and would make the modulo below meaningless.
    if (!(size > 0 && advance > 0)) return;
    if (advance > size) {
      ctx.addIssue({ code: 'custom', path: ['advance'], message: `must not be longer than size (${formatDuration(size)})` });
    } else if (size % advance !== 0) {
      ctx.addIssue({ code: 'custom', path: ['size'], message: `must be a multiple of advance (${formatDuration(advance)})` });
    }
  })
  .describe('Overlapping windows: each event falls into size/advance windows.');

// Cross-field checks below also run when sibling fields are invalid, so one pass reports every
// problem; they therefore inspect the partially parsed value defensively.
const always = { when: () => true };

const window = z
  .strictObject({
    name: z
      .string()
      .regex(IDENTIFIER, { error: 'window names must match /^[A-Za-z_][A-Za-z0-9_]*$/' })
      .describe('Unique window name; part of the changelog topic and output records.'),
    groupBy: z
      .array(fieldName)
      .superRefine((fields, ctx) => {
        fields.forEach((field, i) => {
          if (fields.indexOf(field) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate field "${field}"` });
        });
      })
      .describe('Event fields forming the group key. Starting with `input.key` keeps each group in one partition (the direct path); any other group spans partitions and is merged across them (docs/semantics.md), with `emit: final` only. `[]` makes one group of every event: a global window, e.g. a leaderboard over all players (`topK`), merged across partitions.'),
    tumbling: positiveDuration.optional().describe('Window length of non-overlapping windows. Exactly one of tumbling, hopping or session.'),
    hopping: hopping.optional(),
    session: sessionSchema(positiveDuration).optional(),
    grace: duration.prefault('0s').describe('How long after a window ends late events are still accepted.'),
    emit: z
      .enum(['final', 'update'])
      .default('final')
      .describe('final: one result per window after grace; update: a result after every change.'),
    closeIdleAfter: closeIdleAfterSchema(duration),
    aggregates,
  })
  .superRefine((value: unknown, ctx) => {
    if (!isRecord(value)) return;
    const kinds = ['tumbling', 'hopping', 'session'].filter((key) => value[key] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: kinds.length === 0 ? 'one of tumbling, hopping or session is required' : `give one of tumbling, hopping or session, not ${kinds.join(' and ')}`,
      });
    }
  }, always)
  .meta({ oneOf: [{ required: ['tumbling'] }, { required: ['hopping'] }, { required: ['session'] }] })
  .transform(({ name, groupBy, tumbling, hopping, session, grace, emit, closeIdleAfter, aggregates }) => {
    // A session's size is its gap: the extent of a session of one event (types.ts, WindowSpec).
    const sizeMs = hopping?.size ?? tumbling ?? session?.gap ?? 0;
    return {
      name,
      groupBy,
      kind: hopping ? ('hopping' as const) : session ? ('session' as const) : ('tumbling' as const),
      sizeMs,
      advanceMs: hopping?.advance ?? sizeMs,
      graceMs: grace,
      emit,
      closeIdleAfterMs: closeIdleAfter,
      aggregates,
    };
  });

const windows = z
  .array(window)
  .min(1, { error: 'at least one window is required' })
  .superRefine((items: unknown[], ctx) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      if (!isRecord(item) || typeof item.name !== 'string') return;
      const first = seen.get(item.name);
      if (first === undefined) seen.set(item.name, i);
      else ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate window name "${item.name}" (first used by windows[${first}])` });
    });
  }, always)
  .describe('Windowed aggregations; at least one.');

/**
 * A window whose groupBy does not start with the input key field spreads one group over several
 * partitions: lanes send partial aggregates to a merge stage, which writes each window's final
 * once every partition has passed it. That stage writes finals only, so `emit: update` (which
 * would need merged updates after every batch of every source) is refused for such windows. It
 * runs even when other fields failed, so that the config is reported whole: the value may be raw.
 */
function refuseSpanningUpdates(value: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(value) || !isRecord(value.input) || !Array.isArray(value.windows)) return;
  const key = value.input.key;
  value.windows.forEach((window: unknown, i) => {
    // Session windows report it themselves (session-schema.ts).
    if (!isRecord(window) || !Array.isArray(window.groupBy) || window.emit !== 'update' || window.groupBy[0] === key || isSessionWindow(window)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['windows', i, 'emit'],
      message:
        `window "${String(window.name)}" groups by [${window.groupBy.join(', ')}], which spans partitions (it does not start with the input key field "${String(key)}"); ` +
        'such windows support only emit: final',
      params: { code: 'SLUICE_WINDOW_UNSUPPORTED' },
    });
  });
}

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' });

/** Where a secret comes from: never the pipeline YAML itself, which lands in ConfigMaps and logs. */
const secretShape = {
  env: envName.optional().describe('Environment variable holding the secret.'),
  file: z.string().min(1).optional().describe('File holding the secret (one trailing newline ignored), e.g. a mounted Kubernetes Secret; relative paths resolve against the config file.'),
};
const secretError: z.core.$ZodErrorMap = (issue) => (issue.code === 'invalid_type' ? 'expected { env: NAME } or { file: path }: the secret itself never goes in the YAML' : undefined);
const secretReference = z
  .strictObject(secretShape, { error: secretError })
  .refine((ref) => (ref.env === undefined) !== (ref.file === undefined), { error: 'set exactly one of env and file' });

/** Whether `text` is an absolute http(s) URL: where other instances send a query for this one. */
export function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

const ADVERTISED_URL_CODE = { code: 'SLUICE_ADVERTISED_URL_INVALID' };
const advertisedUrl = z
  .union([z.string(), z.strictObject({ env: envName.describe('Environment variable holding the URL, read at startup.') })], {
    error: 'expected an http(s) URL or { env: NAME }',
  })
  .superRefine((value, ctx) => {
    if (typeof value === 'string' && !isHttpUrl(value)) ctx.addIssue({ code: 'custom', message: `"${value}" is not an http(s) URL`, params: ADVERTISED_URL_CODE });
  });

const httpSection = z
  .strictObject({
    port: z.int().min(0).max(65_535).default(8080).describe('Port of the HTTP server: /metrics, /healthz, /readyz, POST /events and GET /aggregates; 0 disables it.'),
    host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server listens on; in a pod, `0.0.0.0` lets probes, Prometheus and producers reach it.'),
    maxBodyBytes: positiveInt.default(1_048_576).describe('Largest POST /events body; a larger one is refused with 413.'),
    authToken: secretReference
      .optional()
      .describe('Bearer token POST /events requires (`Authorization: Bearer <token>`, else 401), read at startup from an environment variable or a file, never written in the YAML; omit to accept any caller. The other endpoints stay open for probes and scrapes.'),
    readyMaxLag: z.int().min(0).default(10_000).describe('/readyz answers 503 while any assigned partition is more records behind than this.'),
    ingestTimeout: positiveDuration.prefault('10s').describe('How long POST /events waits for the brokers to acknowledge before answering 503 (the caller retries).'),
    advertisedUrl: advertisedUrl
      .optional()
      .describe(
        'URL other instances redirect a query (GET /aggregates) to when this instance owns the partition: a string, or `{ env: NAME }` read at startup (the Helm chart sets it per pod). Default: `http://<host>:<port>`, with the machine\'s hostname for a wildcard host (`0.0.0.0`, `::`).',
      ),
    // 5m by default: bench/in-process/hot-path.ts, 1M events, 0s and 5m alternating, 3 runs each
    // (about 40k finals retained): CPU per event changed by +1.8% (emit update, means 50.1 -> 51.0
    // µs) and -3.4% (emit final, 49.1 -> 47.4), within the runs' own spread of about 10%; bytes
    // allocated per event +1.5% (11927 -> 12100) and +1.3% (9185 -> 9305). Under 3% either way.
    queryRetention: duration
      .prefault('5m')
      .describe(
        "How long (wall clock) a closed window's final stays queryable by GET /aggregates, kept in the lane's local state and changelog beside the open windows; `0s` keeps none. Expired finals are dropped up to 1000 per transaction.",
      ),
  })
  .prefault({})
  .describe('HTTP server: metrics, health and readiness probes, event ingestion and interactive queries (README, "Operate").');

export const INPUT_FORMATS = ['json', 'avro', 'json-schema', 'protobuf'] as const;
/** Input formats whose values carry a schema id that the registry resolves. */
export const REGISTRY_INPUT_FORMATS: readonly string[] = ['avro', 'json-schema', 'protobuf'];

/** The registry is required by the Confluent wire formats, and input.schema belongs to plain JSON. */
function checkFormats(value: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(value)) return;
  const input = isRecord(value.input) ? value.input : {};
  const output = isRecord(value.output) ? value.output : {};
  const needs = [
    ...(typeof input.format === 'string' && REGISTRY_INPUT_FORMATS.includes(input.format) ? [`input.format ${input.format}`] : []),
    ...(output.format === 'avro' ? ['output.format avro'] : []),
  ];
  if (needs.length > 0 && value.schemaRegistry === undefined) {
    ctx.addIssue({ code: 'custom', path: ['schemaRegistry'], message: `required by ${needs.join(' and ')}` });
  }
  // An Avro record's field names are identifiers; window and aggregate names already are.
  if (output.format === 'avro' && Array.isArray(value.windows)) {
    value.windows.forEach((w: unknown, i) => {
      if (!isRecord(w) || !Array.isArray(w.groupBy)) return;
      w.groupBy.forEach((field: unknown, j) => {
        if (typeof field === 'string' && !IDENTIFIER.test(field)) ctx.addIssue({ code: 'custom', path: ['windows', i, 'groupBy', j], message: `"${field}" cannot be an Avro field name (output.format avro); it must match ${String(IDENTIFIER)}` });
      });
    });
  }
  if (input.schema !== undefined && input.format !== undefined && input.format !== 'json') {
    ctx.addIssue({ code: 'custom', path: ['input', 'schema'], message: `applies to format json only; ${String(input.format)} values are checked against their registry schema` });
  }
}

export const configSchema = z
  .strictObject({
    kafka: z
      .strictObject({
        brokers: z.array(broker).min(1, { error: 'at least one broker is required' }).describe('Bootstrap brokers as host:port.'),
        client: z
          .enum(['kafkajs', 'platformatic'])
          .default('kafkajs')
          .describe('Kafka client library for consuming, producing and transactions: kafkajs (the default, chosen by the benchmark) or @platformatic/kafka.'),
        clientId: z.string().min(1).default('sluice').describe('Kafka client id.'),
        connectTimeout: duration.prefault('30s').describe('How long to keep retrying unreachable brokers at startup.'),
        sessionTimeout: duration
          .prefault('30s')
          .refine((ms) => ms >= 6000, { error: 'must be at least 6s (the broker minimum)' })
          .describe('Consumer group session timeout: how long a crashed instance holds its partitions before the group moves them.'),
        ssl: sslSchema,
        sasl: saslSchema,
      })
      .describe('Kafka connection.'),
    application: z
      .strictObject({
        id: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, { error: 'may only contain letters, digits, ".", "_" and "-"' })
          .describe('Consumer group id, transactional-id prefix and changelog topic prefix.'),
        guarantee: z
          .enum(['exactly-once', 'at-least-once'])
          .default('exactly-once')
          .describe('Processing guarantee; exactly-once uses Kafka transactions.'),
        stateDir: z
          .string()
          .min(1)
          .default('./.sluice-state')
          .describe('Local state directory; relative paths resolve against the config file.'),
      })
      .describe('Identity of this processing application.'),
    input: z
      .strictObject({
        topic: topicName.describe('Topic to consume.'),
        format: z
          .enum(INPUT_FORMATS)
          .default('json')
          .describe('Record value encoding: json (UTF-8 JSON text), or avro, json-schema or protobuf in the Confluent wire format (a magic byte and the schema id ahead of the payload), whose schemas sluice fetches from `schemaRegistry`.'),
        schema: z
          .string()
          .min(1)
          .optional()
          .describe('With format json: a JSON Schema file every value must match (relative paths resolve against the config file); a value that does not is dead-lettered as schema-violation.'),
        key: fieldName.describe('Event field that upstream uses as the record key.'),
        eventTime: z
          .strictObject({ field: fieldName.describe('Field holding epoch milliseconds or an ISO-8601 string.') })
          .optional()
          .describe('Where event time comes from; omit to use the record timestamp.'),
        maxRecordBytes: positiveInt.default(1_048_576).describe('Larger records are dead-lettered as oversized.'),
      })
      .describe('Input topic and event shape.'),
    normalize: normalizeSection,
    dedupe: z
      .strictObject({
        idField: fieldName.describe('Event field holding the unique event id.'),
        ttl: positiveDuration.describe('Event-time span after the first sighting within which a repeat id is dropped.'),
      })
      .optional()
      .describe('Drop repeated events; omit to disable.'),
    tables: tablesSchema,
    enrich: enrichSchema,
    windows,
    output: z
      .strictObject({
        topic: topicName.describe('Topic receiving window results.'),
        format: z
          .enum(['json', 'avro'])
          .default('json')
          .describe('Value encoding of results: json, or avro in the Confluent wire format, with a schema sluice derives from the windows and registers under `<output.topic>-value` at startup (docs/output.md).'),
        partitioning: z
          .enum(['key', 'input'])
          .default('key')
          .describe(
            'Which partition of the output topic a result goes to. key (the default): the Java client\'s default partitioner over the result\'s key, as any Kafka producer would place it. input: the partition numbered like the one its lane reads (the input partition, or a cross-partition window\'s merge partition), modulo the output topic\'s partition count; each transaction then writes one output partition instead of up to all of them, which makes commits cheaper (docs/output.md, "Output partitioning"). Changing it moves where later results of a window land.',
          ),
        compression: z
          .enum(COMPRESSION_NAMES)
          .default('lz4')
          .describe(
            'Codec of every record batch sluice produces: results, dead letters, changelogs and partials. lz4 by default: sluice writes several records per input event, and lz4 shrinks them about 6× for under a microsecond of CPU per record, decompresses cheapest for whoever reads them, and is read by every Kafka client that reads compressed batches. zstd shrinks them further (about 20× on results) for a similar cost to write and slower reads; none suits consumers that read no codec (plain kafkajs reads only gzip). Input is read in any of these codecs, whatever this says.',
          ),
      })
      .describe('Where results go.'),
    schemaRegistry: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).describe('Base URL of the Confluent Schema Registry API (for Apicurio Registry, `<host>/apis/ccompat/v7`).'),
        basicAuth: z
          .strictObject({
            username: z.string().min(1).describe('Basic-auth user name.'),
            password: z.string().describe('Basic-auth password.'),
          })
          .optional()
          .describe('HTTP basic authentication; omit for none.'),
        timeout: positiveDuration.prefault('10s').describe('Timeout of each registry request; a lookup that fails retries the batch.'),
      })
      .optional()
      .describe('Schema registry for the Confluent wire formats; required when input.format or output.format uses it.'),
    deadLetter: z
      .strictObject({ topic: topicName.describe('Topic receiving records that cannot be processed.') })
      .describe('Where unprocessable records go.'),
    batching: z
      .strictObject({
        maxRecords: positiveInt.default(2000).describe('Most records per transaction, reached when a lane is behind.'),
        maxBytes: positiveInt
          .default(524_288)
          .describe('Most input bytes per transaction, and the fetch size per partition; neither Kafka client splits produce requests, so stay well under 1 MB.'),
        targetLatencyMs: positiveInt
          .default(50)
          .describe('Latency goal from append to commit. A lane that is caught up cuts transactions to what fits in half of it; a lane that is behind grows them up to maxRecords to catch up.'),
        maxIntervalMs: positiveInt.default(100).describe('Upper bound on the processing time of one transaction, even when a lane is behind.'),
      })
      .prefault({})
      .describe('Adaptive transaction sizing: see docs/architecture.md, "Batching and backpressure".'),
    backpressure: z
      .strictObject({
        maxInFlightBytes: positiveInt
          .default(64 * 1024 * 1024)
          .describe('Per worker: fetched input not yet committed plus produced output not yet acknowledged. Above it, every partition of the worker is paused until the total falls to resumeBelowBytes.'),
        resumeBelowBytes: positiveInt.optional().describe('Paused partitions resume below this (default: half of maxInFlightBytes).'),
      })
      .prefault({})
      .refine((b) => b.resumeBelowBytes === undefined || b.resumeBelowBytes < b.maxInFlightBytes, {
        error: 'resumeBelowBytes must be below maxInFlightBytes',
        path: ['resumeBelowBytes'],
      })
      .describe('Bounds on in-flight data: intake pauses instead of the heap growing.'),
    http: httpSection,
    log: z
      .strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Minimum log level.') })
      .prefault({})
      .describe('Logging.'),
    workers: z
      .int()
      .min(1)
      .max(256)
      .optional()
      .describe('Worker threads, each a member of the consumer group with its own lanes (default: the number of cores). Partitions spread over them; a crash of the process takes every worker with it.'),
  })
  .superRefine(refuseSpanningUpdates, always)
  .superRefine(checkFormats, always)
  .superRefine((value: unknown, ctx) => {
    if (!isRecord(value)) return;
    for (const issue of [...enrichIssues(value), ...sessionIssues(value), ...idleCloseIssues(value)]) ctx.addIssue({ code: 'custom', ...issue });
  }, always)
  .describe('The sluice pipeline config: one YAML file per application.');

/** The validated config: durations in milliseconds, windows and aggregates normalized. */
export type SluiceConfig = z.infer<typeof configSchema>;
/** What a config file may contain before defaults and normalization. */
export type SluiceConfigInput = z.input<typeof configSchema>;
export type WindowSpec = SluiceConfig['windows'][number];
export type AggregateSpec = WindowSpec['aggregates'][number];
