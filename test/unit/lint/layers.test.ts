// The layering rule of eslint.config.js, run on snippets as if they were files of src/, so that
// the rule cannot silently stop matching (a renamed folder, a plugin update) while lint stays green.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => m.message);
}

describe('the layering lint rule', () => {
  it('fails an upward import: state importing consumers', async () => {
    const errors = await layerErrors('src/state/upward.ts', "import type { Lane } from '../consumers/lane.ts';\nexport type Upward = Lane;\n");
    expect(errors).toEqual([expect.stringMatching(/"consumers" are not allowed in elements of type "state"/)]);
  });

  it('keeps the model free of every other module of ours', async () => {
    const errors = await layerErrors('src/model/upward.ts', "import type { SluiceError } from '../errors.ts';\nexport type Upward = SluiceError;\n");
    expect(errors).toHaveLength(1);
  });

  it('lets only the entry wiring import a client adapter', async () => {
    const adapter = "import type { KafkajsStreamClient } from '../clients/kafkajs/client.ts';\nexport type Adapter = KafkajsStreamClient;\n";
    expect(await layerErrors('src/consumers/adapter.ts', adapter)).toHaveLength(1);
    expect(await layerErrors('src/entry/adapter.ts', adapter)).toEqual([]);
    expect(await layerErrors('src/clients/kafkajs/other.ts', "import type { PlatformaticGroup } from '../platformatic/membership.ts';\nexport type Other = PlatformaticGroup;\n")).toHaveLength(1);
  });

  it('lets only the entry wiring import the registry-backed formats', async () => {
    const format = "import type { RegistryInputFormat } from '../formats/registry-input.ts';\nexport type Format = RegistryInputFormat;\n";
    expect(await layerErrors('src/processors/format.ts', format)).toHaveLength(1);
    expect(await layerErrors('src/consumers/format.ts', format)).toHaveLength(1);
    expect(await layerErrors('src/entry/format.ts', format)).toEqual([]);
  });

  it('keeps the HTTP server at the entry level: only entry imports it, and it imports no client or engine internals', async () => {
    const server = "import type { HttpServer } from '../http/server.ts';\nexport type Server = HttpServer;\n";
    expect(await layerErrors('src/consumers/server.ts', server)).toHaveLength(1);
    expect(await layerErrors('src/observability/server.ts', server)).toHaveLength(1);
    expect(await layerErrors('src/entry/server.ts', server)).toEqual([]);
    expect(await layerErrors('src/http/lane.ts', "import type { Lane } from '../consumers/lane.ts';\nexport type L = Lane;\n")).toHaveLength(1);
    expect(await layerErrors('src/http/entry.ts', "import type { RunningPipeline } from '../entry/app.ts';\nexport type R = RunningPipeline;\n")).toHaveLength(1);
  });

  it('allows a downward import: consumers importing the port and state', async () => {
    const code = "import type { LaneSink } from '../clients/port.ts';\nimport type { PartitionStore } from '../state/partition-store.ts';\nexport type Down = [LaneSink, PartitionStore];\n";
    expect(await layerErrors('src/consumers/down.ts', code)).toEqual([]);
  });
});
