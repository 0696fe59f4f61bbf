// Renders the Helm chart with the real helm and reads what a pod would see: the manifests, and
// the rendered pipeline config loaded by sluice's own loader with the mounted Secrets in place.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.ts';
import type { SluiceConfig } from '../../src/config/schema.ts';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(ROOT, 'deploy/helm');
export const FULL_VALUES = join(CHART, 'ci/full-values.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes manifests, read by path in assertions
export type Manifest = Record<string, any>;

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of the chart to render (tests may change it). */
export function chartCopy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sluice-chart-')), 'sluice');
  cpSync(CHART, dir, { recursive: true });
  return dir;
}

export async function helm(helmBin: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(helmBin, args, { maxBuffer: 64 << 20, env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'sluice-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'sluice-helm-config') } });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export interface Rendered {
  text: string;
  manifests: Manifest[];
  byKind(kind: string): Manifest;
}

export async function renderChart(helmBin: string, chart: string, args: string[] = []): Promise<Rendered> {
  const r = await helm(helmBin, ['template', 'player-stats', chart, '--namespace', 'streams', ...args]);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}):\n${r.output}`);
  const manifests = parseAllDocuments(r.output)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  const byKind = (kind: string) => {
    const found = manifests.filter((m) => m.kind === kind);
    if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
    return found[0]!;
  };
  return { text: r.output, manifests, byKind };
}

/** A path the rendered config names, inside a Secret the pod mounts. */
export interface SecretFile {
  configPath: string;
  podPath: string;
  secretName: string;
  key: string;
}

export interface PodConfig {
  /** the rendered pipeline.yaml as the pod reads it */
  raw: JsonObject;
  /** loaded by src/config/load.ts, from a folder laid out as the pod's mounts */
  config: SluiceConfig;
  secretFiles: SecretFile[];
}

let pemPair: { cert: string; key: string } | undefined;
async function testPem(): Promise<{ cert: string; key: string }> {
  if (pemPair) return pemPair;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pem-'));
  const [cert, key] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=sluice-test', '-days', '2']);
  pemPair = { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  return pemPair;
}

/**
 * Lays out the pod's view under a temporary root: the ConfigMap's pipeline.yaml where it is
 * mounted, and a file for every path the config names inside a mounted Secret (a self-signed
 * PEM pair for the TLS files, a token for the rest); every mounted path in the config is moved
 * under that root. Then sluice's loader reads it, as `sluice run --config` would in the pod.
 */
export async function loadPodConfig(rendered: Rendered): Promise<PodConfig> {
  const pod = rendered.byKind('StatefulSet').spec.template.spec;
  const container = pod.containers[0];
  const volumes = new Map<string, Manifest>(pod.volumes.map((v: Manifest) => [v.name, v]));
  const mounts: Manifest[] = container.volumeMounts;
  const root = mkdtempSync(join(tmpdir(), 'sluice-pod-'));
  const pem = await testPem();
  const contents: Record<string, string> = { 'kafka.ssl.ca': pem.cert, 'kafka.ssl.cert': pem.cert, 'kafka.ssl.key': pem.key };
  const raw = parse(rendered.byKind('ConfigMap').data['pipeline.yaml']) as JsonObject;
  const secretFiles: SecretFile[] = [];

  const relocate = (value: string, configPath: string): string => {
    // The innermost mount holding the path.
    const mount = mounts.filter((m) => value.startsWith(`${m.mountPath}/`) || value === m.mountPath).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    if (mount === undefined) return value;
    const secret = volumes.get(mount.name)?.secret as Manifest | undefined;
    if (secret !== undefined) {
      const key = value.slice(mount.mountPath.length + 1);
      secretFiles.push({ configPath, podPath: value, secretName: secret.secretName, key });
      mkdirSync(dirname(root + value), { recursive: true });
      writeFileSync(root + value, contents[configPath] ?? 'test-secret\n');
    }
    return root + value;
  };
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return relocate(node, path);
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}[${i}]`));
    if (isObject(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, path === '' ? k : `${path}.${k}`)]));
    return node;
  };
  const inPod = walk(raw, '') as JsonObject;

  const configMount = mounts.find((m) => volumes.get(m.name)?.configMap !== undefined);
  if (configMount === undefined) throw new Error('no ConfigMap volume mounted');
  const file = join(root + configMount.mountPath, 'pipeline.yaml');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, stringify(inPod));
  return { raw, config: loadConfigFile(file), secretFiles };
}
