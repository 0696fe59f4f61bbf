// Input values in the Confluent wire format: a magic byte, the writer's schema id (4 bytes, or a
// 16-byte GUID after magic byte 1), protobuf's message indexes, then the payload. Schemas are
// fetched per batch in `prepare`, before the lane's synchronous processing, and compiled once per
// id into a synchronous decoder; ids never change meaning, so compiled schemas are kept.
import { SchemaId } from '@confluentinc/schemaregistry';
import type { Client, SchemaInfo } from '@confluentinc/schemaregistry';
import { sluiceError } from '../errors.ts';
import type { InputRecord } from '../model/records.ts';
import type { DecodedValue, InputFormat } from '../model/value-format.ts';
import { describeRegistryError, registryStatus } from './registry-client.ts';

/** Decodes one payload (the bytes after the framing) with the schema it was compiled for. */
export type PayloadDecoder = (payload: Buffer, messageIndexes: readonly number[] | undefined) => DecodedValue;

/** One registry format: what it asks the registry for, and how it compiles a schema. */
export interface SchemaCompiler {
  /** the registry's schemaType: AVRO, JSON or PROTOBUF */
  readonly schemaType: string;
  /** a synchronous decoder, or why this schema cannot decode input (a string) */
  compile(info: SchemaInfo): Promise<PayloadDecoder | string>;
}

type Framed = { key: string; id: SchemaId; offset: number };

/** A registry status that says the id is not there, as opposed to a registry that failed. */
const isNotFound = (err: unknown): boolean => registryStatus(err) === 404;

export class RegistryInputFormat implements InputFormat {
  private readonly client: Client;
  private readonly compiler: SchemaCompiler;
  private readonly subject: string;
  private readonly compiled = new Map<string, PayloadDecoder | string>();
  /** ids the registry did not know at the last prepare: asked again next batch (they may be registered since) */
  private readonly missing = new Map<string, string>();
  readonly decodeValue = (value: Buffer | null): DecodedValue => this.decode(value);

  /** `topic`: the input topic, whose `<topic>-value` subject lookups name (TopicNameStrategy). */
  constructor(client: Client, compiler: SchemaCompiler, topic: string) {
    this.client = client;
    this.compiler = compiler;
    this.subject = `${topic}-value`;
  }

  async prepare(records: readonly InputRecord[]): Promise<void> {
    this.missing.clear();
    const wanted = new Map<string, SchemaId>();
    for (const r of records) {
      const framed = this.frame(r.value);
      if (typeof framed !== 'string' && !this.compiled.has(framed.key)) wanted.set(framed.key, framed.id);
    }
    for (const [key, id] of wanted) {
      let info: SchemaInfo;
      try {
        info = id.guid !== undefined ? await this.client.getByGuid(id.guid) : await this.client.getBySubjectAndId(this.subject, id.id!);
      } catch (err) {
        if (isNotFound(err)) {
          this.missing.set(key, `schema ${key} is not in the registry (${describeRegistryError(err)})`);
          continue;
        }
        throw sluiceError('SLUICE_SCHEMA_REGISTRY_UNREACHABLE', `schema registry lookup of schema ${key} failed: ${describeRegistryError(err)}; the batch is retried`, { cause: err, canRetry: true });
      }
      const type = info.schemaType ?? 'AVRO';
      this.compiled.set(key, type !== this.compiler.schemaType ? `schema ${key} is ${type}, not ${this.compiler.schemaType}` : await this.compileSafely(info, key));
    }
  }

  private async compileSafely(info: SchemaInfo, key: string): Promise<PayloadDecoder | string> {
    try {
      return await this.compiler.compile(info);
    } catch (err) {
      return `schema ${key} cannot be used: ${(err as Error).message}`;
    }
  }

  private frame(value: Buffer | null): Framed | string {
    if (value === null || value.length === 0) return 'value is empty';
    if (value[0] !== 0 && value[0] !== 1) return `value does not start with a Confluent wire-format magic byte (0 or 1), but with ${value[0]}`;
    const id = new SchemaId(this.compiler.schemaType);
    let offset: number;
    try {
      offset = id.fromBytes(value);
    } catch (err) {
      return `value has no valid Confluent wire-format header: ${(err as Error).message}`;
    }
    if (offset > value.length) return `value is ${value.length} bytes, shorter than its Confluent wire-format header`;
    return { key: id.guid ?? String(id.id), id, offset };
  }

  private decode(value: Buffer | null): DecodedValue {
    const framed = this.frame(value);
    if (typeof framed === 'string') return { ok: false, reason: 'invalid-wire-format', detail: framed };
    const decoder = this.compiled.get(framed.key);
    if (decoder === undefined) return { ok: false, reason: 'unknown-schema', detail: this.missing.get(framed.key) ?? `schema ${framed.key} was not looked up` };
    if (typeof decoder === 'string') return { ok: false, reason: 'unknown-schema', detail: decoder };
    return decoder(value!.subarray(framed.offset), framed.id.messageIndexes);
  }
}
