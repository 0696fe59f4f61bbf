// A throwaway Prometheus (Debian's `prometheus` package, the binary on PATH or at
// /usr/bin/prometheus) on a free port with its own config and storage directory, scraping the
// given targets every second: for the dashboard test and the docs panel. Never the system one.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './kafka-broker.ts';

export interface Prometheus {
  url: string;
  /** GET /api/v1/<path> with the query parameters; the parsed body, whatever its status */
  api(path: string, params: Record<string, string>): Promise<PromResponse>;
  log(): string;
  stop(): Promise<void>;
}

export interface PromResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
}

/** The prometheus binary, or undefined when it is not installed. */
export function prometheusBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
  if (found !== '') return found;
  return existsSync('/usr/bin/prometheus') ? '/usr/bin/prometheus' : undefined;
}

export async function startPrometheus(targets: readonly string[], binary = prometheusBinary()): Promise<Prometheus> {
  if (binary === undefined) throw new Error('prometheus is not installed (Debian: apt-get install prometheus)');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: sluice',
      `    static_configs: [{ targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const logFile = join(dir, 'prometheus.log');
  const out = createWriteStream(logFile);
  const child = spawn(binary, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  // A caller that dies must not leave its Prometheus running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    process.off('exit', killOnExit);
    out.end();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = log();
      await stop();
      throw new Error(`prometheus did not become ready:\n${why.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    api: async (path, params) => (await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params).toString()}`)).json() as Promise<PromResponse>,
    log,
    stop,
  };
}
