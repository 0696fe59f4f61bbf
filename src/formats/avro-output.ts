// Results as Avro in the Confluent wire format. The schema follows from the windows alone: one
// record type per window, mirroring the JSON output (window, group, start, end, final, values),
// and a union of them when there are several. A window with closeIdleAfter has a last field,
// `closedBy` (null unless an idle close wrote the final). sluice registers it under `<output.topic>-value`
// at startup and writes every value with the id the registry gives it.
import { SchemaId } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import type { SluiceConfig } from '../config/schema.ts';
import { sluiceError } from '../errors.ts';
import type { OutputValueEncoder, WindowResult } from '../model/value-format.ts';
import { describeRegistryError, registryStatus } from './registry-client.ts';

type WindowConfig = SluiceConfig['windows'][number];

export const OUTPUT_NAMESPACE = 'sluice.output';

// Group values keep their JSON type: a string, a number or a boolean (docs/output.md).
const GROUP_VALUE = ['string', 'double', 'boolean'];
const TIMESTAMP = { type: 'long', logicalType: 'timestamp-millis' };

const NUMBER_OR_NULL = ['null', 'double'];

/** Each aggregate's result as Avro (docs/output.md gives the JSON of each). */
function aggregateType(w: WindowConfig, a: WindowConfig['aggregates'][number]): unknown {
  switch (a.fn) {
    case 'count':
    case 'countDistinct':
      return 'long';
    case 'first':
    case 'last':
      return ['null', ...GROUP_VALUE];
    case 'quantiles':
      // Labels such as "p99.9" are no Avro field names: a map keeps them as the JSON has them.
      return { type: 'map', values: NUMBER_OR_NULL };
    case 'topK':
      return { type: 'array', items: { type: 'record', name: `${w.name}_${a.name}_entry`, fields: [{ name: 'member', type: GROUP_VALUE }, { name: 'value', type: NUMBER_OR_NULL }] } };
    default:
      // sum, min, max and avg: null over no values.
      return NUMBER_OR_NULL;
  }
}

function windowRecord(w: WindowConfig): object {
  return {
    type: 'record',
    name: w.name,
    namespace: OUTPUT_NAMESPACE,
    doc: `Results of window "${w.name}" (docs/output.md).`,
    fields: [
      { name: 'window', type: 'string' },
      { name: 'group', type: { type: 'record', name: `${w.name}_group`, fields: w.groupBy.map((f) => ({ name: f, type: GROUP_VALUE })) } },
      { name: 'start', type: TIMESTAMP },
      { name: 'end', type: TIMESTAMP },
      { name: 'final', type: 'boolean' },
      { name: 'values', type: { type: 'record', name: `${w.name}_values`, fields: w.aggregates.map((a) => ({ name: a.name, type: aggregateType(w, a) })) } },
      // Only windows that can close by idleness have it, so other windows keep their schema.
      ...(w.closeIdleAfterMs === undefined ? [] : [{ name: 'closedBy', type: ['null', 'string'], default: null }]),
    ],
  };
}

/** The output value schema the windows give: a record, or a union of one record per window. */
export function outputAvroSchema(windows: readonly WindowConfig[]): object {
  const records = windows.map(windowRecord);
  return records.length === 1 ? records[0]! : records;
}

/** A synchronous encoder for the schema registered as `schemaId`. */
export function avroOutputEncoder(schema: object, schemaId: number): OutputValueEncoder {
  const type = avro.Type.forSchema(schema as avro.Schema);
  const header = new SchemaId('AVRO', schemaId).idToBytes();
  // avsc writes a union of records from a one-key object naming the branch.
  const union = Array.isArray(schema);
  return (result: WindowResult) => Buffer.concat([header, type.toBuffer(union ? { [`${OUTPUT_NAMESPACE}.${result.window}`]: result } : result)]);
}

/** Registers the derived schema under `<output.topic>-value` and returns the encoder for it. */
export async function registerOutputSchema(client: Client, config: SluiceConfig): Promise<OutputValueEncoder> {
  const subject = `${config.output.topic}-value`;
  const schema = outputAvroSchema(config.windows);
  let id: number;
  try {
    id = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(schema) }, false);
  } catch (err) {
    const status = registryStatus(err);
    // 409: incompatible with the subject's versions; 422: a schema the registry will not take.
    if (status === 409 || status === 422) {
      throw sluiceError('SLUICE_OUTPUT_SCHEMA_REJECTED', `the schema registry refused the output schema derived from the windows under ${subject}: ${describeRegistryError(err)}`, { cause: err });
    }
    throw sluiceError('SLUICE_SCHEMA_REGISTRY_UNREACHABLE', `registering the output schema under ${subject} failed: ${describeRegistryError(err)}`, { cause: err });
  }
  return avroOutputEncoder(schema, id);
}
