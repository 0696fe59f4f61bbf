// Protobuf values. The registry library reads a schema as a base64 descriptor, which not every
// Confluent-compatible registry serves (Apicurio's ccompat API sends raw bytes), so sluice asks
// for the .proto text: protobufjs parses it (with its references and well-known imports) into
// descriptors, and @bufbuild/protobuf, a conformant decoder, reads each payload with them
// (protobufjs itself reads some truncated payloads without an error). The event is the message's
// proto3 JSON with the .proto's field names, except that top-level 64-bit integers are numbers:
// event time and aggregates need numbers. Absent proto3 scalars read as their defaults.
import { createFileRegistry, fromBinary, ScalarType, toJson } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { ProtobufDeserializer, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import type { Client } from '@confluentinc/schemaregistry';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import type { IDescriptorProto, IFileDescriptorSet } from 'protobufjs/ext/descriptor/index.js';
import type { DecodedValue } from '../model/value-format.ts';
import type { SchemaCompiler } from './registry-input.ts';

const INT64 = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
type DescriptorRoot = protobuf.Root & { toDescriptor(syntax: string): protobuf.Message<IFileDescriptorSet> & IFileDescriptorSet };

/**
 * protobufjs names field types relative to their scope; descriptors need them fully qualified.
 * Map entry types exist only in descriptors, so their names qualify by their message.
 */
function qualifyTypeNames(messages: readonly IDescriptorProto[], scope: protobuf.NamespaceBase): void {
  for (const m of messages) {
    const own = scope.get(m.name ?? '');
    const ctx = own instanceof protobuf.Namespace ? own : scope;
    const mapEntries = new Set((m.nestedType ?? []).filter((n) => ctx.get(n.name ?? '') === null).map((n) => n.name));
    for (const f of m.field ?? []) {
      if (f.typeName === undefined || f.typeName.startsWith('.')) continue;
      f.typeName = mapEntries.has(f.typeName) ? `${ctx.fullName}.${f.typeName}` : ctx.lookupTypeOrEnum(f.typeName).fullName;
    }
    qualifyTypeNames(m.nestedType ?? [], ctx);
  }
}

/** The .proto text (and the texts it references) as descriptors, and the message type of each message-index path. */
export function parseProto(text: string, references: Iterable<string>): { messages: (indexes: readonly number[]) => DescMessage } {
  const root = new protobuf.Root() as DescriptorRoot;
  const wellKnown = new Set<string>();
  for (const source of [...references, text]) {
    const parsed = protobuf.parse(source, root, { keepCase: true });
    for (const name of parsed.imports ?? []) {
      const common = protobuf.common.get(name);
      if (common?.nested === undefined || wellKnown.has(name)) continue;
      wellKnown.add(name);
      root.addJSON(common.nested);
    }
  }
  root.resolveAll();
  const mainPackage = protobuf.parse(text, new protobuf.Root(), { keepCase: true }).package ?? '';
  const set = root.toDescriptor('proto3');
  const files = set.file ?? [];
  for (const f of files) qualifyTypeNames(f.messageType ?? [], f.package ? (root.lookup(f.package) as protobuf.Namespace) : root);
  // protobufjs writes one file per package and no imports: put well-known types first and the
  // schema's own package last, each file importing those before it.
  const rank = (f: (typeof files)[number]) => (f.package === mainPackage ? 2 : f.package?.startsWith('google.protobuf') ? 0 : 1);
  files.sort((a, b) => rank(a) - rank(b));
  files.forEach((f, i) => (f.dependency = files.slice(0, i).map((d) => d.name)));
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptor.FileDescriptorSet.encode(set).finish()));
  const main = files[files.length - 1]!;
  // Message indexes count the messages of the schema's file in declaration order, then nested ones.
  const topLevel = protobuf.parse(text, new protobuf.Root(), { keepCase: true }).root;
  const declared = (ns: protobuf.NamespaceBase | null): protobuf.Type[] => (ns?.nestedArray ?? []).filter((n): n is protobuf.Type => n instanceof protobuf.Type);
  const tops = declared(main.package ? (topLevel.lookup(main.package) as protobuf.Namespace | null) : topLevel);
  return {
    messages: (indexes) => {
      let candidates = tops;
      let type: protobuf.Type | undefined;
      for (const i of indexes.length === 0 ? [0] : indexes) {
        type = candidates[i];
        if (type === undefined) throw new Error(`message index ${i} is out of range: the schema declares ${candidates.length} message(s) there`);
        candidates = declared(type);
      }
      const desc = registry.getMessage(type!.fullName.slice(1));
      if (desc === undefined) throw new Error(`${type!.fullName} has no descriptor`);
      return desc;
    },
  };
}

function toEvent(desc: DescMessage, payload: Buffer): DecodedValue {
  const event = toJson(desc, fromBinary(desc, payload), { useProtoFieldName: true, alwaysEmitImplicit: true }) as Record<string, unknown>;
  for (const f of desc.fields) {
    if (f.fieldKind === 'scalar' && INT64.has(f.scalar) && typeof event[f.name] === 'string') event[f.name] = Number(event[f.name]);
  }
  return { ok: true, event };
}

export function protobufCompiler(client: Client): SchemaCompiler {
  const serde = new ProtobufDeserializer(client, SerdeType.VALUE, { subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
  return {
    schemaType: 'PROTOBUF',
    async compile(info) {
      const references = new Map<string, string>();
      await serde.resolveReferences(client, info, references);
      const proto = parseProto(info.schema, references.values());
      const byIndexes = new Map<string, DescMessage>();
      return (payload, indexes = [0]) => {
        try {
          const key = indexes.join('.');
          let desc = byIndexes.get(key);
          if (desc === undefined) byIndexes.set(key, (desc = proto.messages(indexes)));
          return toEvent(desc, payload);
        } catch (err) {
          return { ok: false, reason: 'undecodable', detail: `value does not decode with its Protobuf schema: ${(err as Error).message}` };
        }
      };
    },
  };
}
