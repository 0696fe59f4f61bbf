// Where helm, kubeconform, the Kubernetes schemas, the ServiceMonitor schema and tini are: scripts/deploy-tools.sh knows
// (it installs them into the cache). .ci/run installs them before the tests and sets
// SLUICE_REQUIRE_DEPLOY_TOOLS=1, so there a missing tool fails the test at once instead of
// installing mid-run; elsewhere the first test to ask installs them (building helm takes minutes).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/deploy-tools.sh');

export interface DeployTools {
  helm: string;
  kubeconform: string;
  /** kubeconform's -schema-location: the newest Kubernetes version kubernetes-validate ships, made offline */
  schemaLocation: string;
  kubernetesVersion: string;
  tini: string;
  /** @kubernetes-models/prometheus-operator's ServiceMonitor class: validate() checks the CRD's schema */
  serviceMonitorModel: string;
}

function parseLines(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

const versionOf = (dir: string) => dir.replace(/^v/, '').split(/[.-]/).slice(0, 3).map(Number);

function newestSchemaVersion(schemas: string): string {
  const versions = readdirSync(schemas).filter((d) => /^v\d+\.\d+\.\d+-local-strict$/.test(d));
  versions.sort((a, b) => {
    const [x, y] = [versionOf(a), versionOf(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
  const newest = versions.at(-1);
  if (newest === undefined) throw new Error(`no <version>-local-strict schema folder in ${schemas}`);
  return newest.replace(/-local-strict$/, '');
}

export async function deployTools(): Promise<DeployTools> {
  const required = process.env.SLUICE_REQUIRE_DEPLOY_TOOLS === '1';
  const { stdout } = await run('bash', [SCRIPT, ...(required ? ['--paths'] : [])], { maxBuffer: 16 << 20 });
  const paths = parseLines(stdout);
  const missing = Object.entries(paths).filter(([, path]) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(`deploy tools missing (${missing.map(([name, path]) => `${name}=${path}`).join(', ')}); run: bash scripts/deploy-tools.sh`);
  }
  const schemas = paths.SLUICE_K8S_SCHEMAS!;
  const kubernetesVersion = newestSchemaVersion(schemas);
  return {
    helm: paths.SLUICE_HELM!,
    kubeconform: paths.SLUICE_KUBECONFORM!,
    // kubeconform fills in the template; -strict picks the -strict folders, whose schemas refuse
    // unknown fields.
    schemaLocation: `${schemas}/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    kubernetesVersion,
    tini: paths.SLUICE_TINI!,
    serviceMonitorModel: paths.SLUICE_SERVICEMONITOR_MODEL!,
  };
}
