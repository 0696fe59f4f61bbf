// A `sluice run` child process with events flowing through it, for the tests that scrape its
// metrics (metrics-scrape, grafana-dashboards). Where /metrics is served is known in one place,
// metricsEndpoint, so moving the endpoint changes that function only.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/kafka-broker.ts';
import { createScenario, produce, waitUntilProcessed } from './scenario.ts';
import type { Scenario, ScenarioPipeline } from './scenario.ts';
import { runSluice, waitForLog } from './sluice-process.ts';
import type { SluiceProcess } from './sluice-process.ts';

/** The pipeline-config line that serves /metrics (on the HTTP port) at `port`, and the URL to scrape it at. */
export function metricsEndpoint(port: number): { config: string; url: string; target: string } {
  return { config: `http: { port: ${port}, host: 127.0.0.1 }`, url: `http://127.0.0.1:${port}/metrics`, target: `127.0.0.1:${port}` };
}

/** Serves the scenario's pipeline on `http` (the test pipelines turn HTTP off) and sets its worker count. */
function serveOn(configFile: string, http: string, workers: number): void {
  const yaml = readFileSync(configFile, 'utf8');
  const off = 'http: { port: 0 }\n';
  if (!yaml.includes(off)) throw new Error(`${configFile} has no "${off.trim()}" line to replace`);
  writeFileSync(configFile, `${yaml.replace(off, `${http}\n`)}workers: ${workers}\n`);
}

export interface RunningSluice {
  scenario: Scenario;
  process: SluiceProcess;
  /** the metrics URL */
  url: string;
  /** host:port, as a Prometheus scrape target */
  target: string;
  scrape(): Promise<string>;
  /** produces the next `slices`-th of the scenario's records; false once all were produced */
  produceSlice(): Promise<boolean>;
  waitUntilProcessed(): Promise<void>;
  /** SIGTERM, and the exit code */
  stop(): Promise<number | null>;
}

export interface RunningSluiceOptions {
  name: string;
  pipeline?: ScenarioPipeline;
  partitions?: number;
  events?: number;
  /** worker threads (`workers:`); default 1, single-process (sluice's own default is one per core) */
  workers?: number;
  /** the records are produced in this many slices, by produceSlice */
  slices?: number;
}

export async function startRunningSluice(opts: RunningSluiceOptions): Promise<RunningSluice> {
  const s = await createScenario({ name: opts.name, pipeline: opts.pipeline ?? 'cross', partitions: opts.partitions ?? 2, events: opts.events ?? 3000, seed: 14 });
  const endpoint = metricsEndpoint(await freePort());
  const workers = opts.workers ?? 1;
  serveOn(s.configFile, endpoint.config, workers);
  const p = runSluice(['run', '--config', s.configFile], join(s.dir, 'sluice.log'));
  await waitForLog(p, workers === 1 ? /lane open/ : new RegExp(`${workers} workers running`), 120_000);
  const slices = opts.slices ?? 1;
  const size = Math.ceil(s.records.length / slices);
  let next = 0;
  return {
    scenario: s,
    process: p,
    url: endpoint.url,
    target: endpoint.target,
    scrape: async () => {
      const res = await fetch(endpoint.url);
      if (!res.ok) throw new Error(`GET ${endpoint.url}: ${res.status}`);
      return res.text();
    },
    produceSlice: async () => {
      if (next >= s.records.length) return false;
      await produce(s, s.records.slice(next, next + size));
      next += size;
      return true;
    },
    waitUntilProcessed: () => waitUntilProcessed(s),
    stop: async () => {
      p.child.kill('SIGTERM');
      return (await p.exited).code;
    },
  };
}
