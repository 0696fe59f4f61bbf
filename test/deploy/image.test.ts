// What the image does, without a container engine (none runs here): the Dockerfile's steps are
// repeated on the host, read from the Dockerfile itself (test/deploy/dockerfile.ts): its deps
// stage's files and `npm ci` into a clean folder, the final stage's COPY list beside them, its
// ENV, and then its ENTRYPOINT and CMD, tini included, run a pipeline against the broker. The
// output must match the oracle, the chart's probes (GET on the http port) must answer 200 once it
// has caught up, SIGTERM sent to tini (PID 1 in the container) must stop sluice cleanly, and
// nothing may be written into the app's folder (a read-only root filesystem in the pod). And the chart runs that entry point: its container command and args are ENTRYPOINT and CMD.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '../../scripts/kafka-broker.ts';
import { createScenario, expectOracleOutput, produce, waitUntilProcessed } from '../helpers/scenario.ts';
import { chartCopy, renderChart, ROOT } from './chart.ts';
import type { Manifest } from './chart.ts';
import { deployTools } from './deploy-tools.ts';
import type { DeployTools } from './deploy-tools.ts';
import { readDockerfile } from './dockerfile.ts';
import type { Stage } from './dockerfile.ts';

const run = promisify(execFile);
const dockerfile = readDockerfile(ROOT);
const work = mkdtempSync(join(tmpdir(), 'sluice-image-'));
const stageDirs = new Map<Stage, string>();

/** The host folder that stands for `path` inside `stage`'s filesystem. */
function hostPath(stage: Stage, path: string): string {
  const dir = stageDirs.get(stage)!;
  const absolute = path.startsWith('/') ? path : join(stage.workdir, path);
  if (absolute !== stage.workdir && !absolute.startsWith(`${stage.workdir}/`)) throw new Error(`${path} is outside WORKDIR ${stage.workdir}; the test maps only WORKDIR`);
  return join(dir, absolute.slice(stage.workdir.length));
}

/** A stage's COPY steps (from the context or an earlier stage) and its `npm ci`, in its own folder. */
async function buildStage(stage: Stage, name: string): Promise<void> {
  stageDirs.set(stage, join(work, name));
  mkdirSync(stageDirs.get(stage)!, { recursive: true });
  for (const copy of stage.copies) {
    for (const source of copy.sources) {
      const from = copy.from === undefined ? join(ROOT, source) : hostPath(dockerfile.stage(copy.from), source);
      const to = copy.dest.endsWith('/') ? join(hostPath(stage, copy.dest), source.split('/').at(-1)!) : hostPath(stage, copy.dest);
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    }
  }
  for (const step of stage.runs) {
    // Only the npm install is repeated: apt-get (tini) is the machine's, and `npm cache clean`
    // would empty the host's npm cache.
    const npm = step.split('&&').map((s) => s.trim()).filter((s) => s.startsWith('npm ci'));
    for (const command of npm) {
      const [bin, ...args] = command.split(/\s+/);
      await run(bin!, args, { cwd: hostPath(stage, stage.workdir), maxBuffer: 64 << 20, env: { ...process.env, NODE_ENV: 'production' } });
    }
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((d) => join(d.parentPath, d.name))
    .sort();
}

/** The chart's HTTP probes: startup, liveness and readiness, each a path on the `http` port. */
function chartProbes(rendered: Awaited<ReturnType<typeof renderChart>>): { name: string; path: string }[] {
  const c = rendered.byKind('StatefulSet').spec.template.spec.containers[0] as Manifest;
  const probes = ['startupProbe', 'livenessProbe', 'readinessProbe'].map((name) => ({ name, get: (c[name] as Manifest).httpGet as Manifest }));
  for (const p of probes) expect(p.get.port, p.name).toBe('http');
  return probes.map((p) => ({ name: p.name, path: p.get.path as string }));
}

let tools: DeployTools;
let app: string;
let child: ChildProcess | undefined;

let notBuilt: unknown;
// A missing tool or a failed build fails every test (beforeEach), rather than leaving them skipped
// as a failed beforeAll does.
beforeAll(async () => {
  try {
    tools = await deployTools();
    for (const [i, stage] of dockerfile.stages.entries()) await buildStage(stage, stage.name ?? `stage-${i}`);
    app = stageDirs.get(dockerfile.final)!;
  } catch (err) {
    notBuilt = err;
  }
}, 900_000);
beforeEach(() => {
  if (notBuilt !== undefined) throw notBuilt;
});

afterAll(() => {
  child?.kill('SIGKILL');
});

describe('the image (Dockerfile), run on the host', () => {
  it('holds production dependencies only, and the files the entry point needs', () => {
    const deps = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    for (const dep of deps) expect(existsSync(join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
    // What the lock file marks dev-only (vitest, typescript, eslint and what only they need) is absent.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true).map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(100);
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
    expect(dockerfile.final.entrypoint).toEqual(['/usr/bin/tini', '--', 'node', '/app/bin/sluice.js']);
    expect(dockerfile.final.user).toBe('1000:1000');
    expect(existsSync(hostPath(dockerfile.final, '/app/bin/sluice.js'))).toBe(true);
  });

  it('runs a pipeline to the oracle\'s output with ENTRYPOINT + CMD, and stops cleanly on SIGTERM to tini', { timeout: 300_000 }, async () => {
    const s = await createScenario({ name: 'image', partitions: 2, events: 3000, seed: 1414 });
    const { entrypoint = [], cmd = [], workdir, env } = dockerfile.final;
    expect(cmd).toEqual(['run', '--config', '/etc/sluice/pipeline.yaml']);
    // The image's paths, mapped to the host: /app is the folder built above, the config is the scenario's.
    const argv = [...entrypoint, ...cmd].map((arg) => (arg === '/etc/sluice/pipeline.yaml' ? s.configFile : arg.startsWith(`${workdir}/`) ? hostPath(dockerfile.final, arg) : arg));
    expect(argv[0]).toBe(tools.tini);
    const before = listFiles(app);
    // The HTTP server on a free port, so the chart's probes can be asked of the running process.
    const probes = chartProbes(await renderChart(tools.helm, chartCopy()));
    const port = await freePort();
    writeFileSync(s.configFile, stringify({ ...(parse(readFileSync(s.configFile, 'utf8')) as object), http: { host: '127.0.0.1', port } }));

    await produce(s);
    const logFile = join(s.dir, 'sluice.log');
    const out = createWriteStream(logFile);
    // `node` on PATH is this test's Node 24, as the image's is the official image's.
    const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
    child = spawn(argv[0]!, argv.slice(1), { cwd: app, env: { ...process.env, ...env, PATH: path }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const log = () => readFileSync(logFile, 'utf8');
    try {
      await waitUntilProcessed(s, 180_000, () => {
        if (child!.exitCode !== null) throw new Error(`sluice exited (${child!.exitCode}):\n${log()}`);
      });
      await expectOracleOutput(s);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- sluice log:\n${log().slice(-4000)}`, { cause: err });
    }

    for (const probe of probes) {
      const res = await fetch(`http://127.0.0.1:${port}${probe.path}`);
      expect(res.status, `${probe.name} GET ${probe.path}: ${await res.text()}`).toBe(200);
    }

    child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log()).toBe(0);
    expect(log()).toMatch(/SIGTERM received: finishing the batch in flight/);
    expect(listFiles(app), 'nothing written into the app folder').toEqual(before);
  });

  it('is what the chart runs: its container command is ENTRYPOINT, its args CMD, its mounts the VOLUMEs', async () => {
    const rendered = await renderChart(tools.helm, chartCopy());
    const pod = rendered.byKind('StatefulSet').spec.template.spec;
    const c = pod.containers[0];
    expect(c.command).toEqual(dockerfile.final.entrypoint);
    expect(c.args).toEqual(dockerfile.final.cmd);
    const mounts = new Map<string, string>(c.volumeMounts.map((m: { mountPath: string; name: string }) => [m.mountPath, m.name]));
    for (const volume of dockerfile.final.volumes) expect(mounts.has(volume), `${volume} is mounted`).toBe(true);
    // The config file CMD names is the ConfigMap's pipeline.yaml.
    const configFile = dockerfile.final.cmd!.at(-1)!;
    expect(pod.volumes.find((v: { name: string }) => v.name === mounts.get(dirname(configFile)))?.configMap.items).toEqual([{ key: 'pipeline.yaml', path: 'pipeline.yaml' }]);
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(dockerfile.final.user);
  });
});
