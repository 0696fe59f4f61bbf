// The Helm chart (deploy/helm) against the real tools: helm lint and helm template (built from
// source, scripts/deploy-tools.sh), every rendered manifest validated offline against the
// Kubernetes API's JSON schemas with kubeconform (strict: a field the API does not have fails),
// and what a pod would get: probes, the state volume claim, the security context, the Secrets
// mounted where the config points, and a ConfigMap that sluice's own loader accepts.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chartCopy, FULL_VALUES, helm, loadPodConfig, renderChart } from './chart.ts';
import type { Manifest, Rendered } from './chart.ts';
import { deployTools } from './deploy-tools.ts';
import { resolveAdvertisedUrl } from '../../src/config/advertised-url.ts';
import type { DeployTools } from './deploy-tools.ts';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'sluice-helm-test-'));

let tools: DeployTools;
let chart: string;
let missingTools: unknown;
// Building helm from source the first time (outside CI) takes minutes on two cores. A tool that is
// missing fails every test (beforeEach), rather than leaving them skipped as a failed beforeAll does.
beforeAll(async () => {
  try {
    tools = await deployTools();
    chart = chartCopy();
  } catch (err) {
    missingTools = err;
  }
}, 1_200_000);
beforeEach(() => {
  if (missingTools !== undefined) throw missingTools;
});

interface KubeconformResult {
  resources: { kind: string; name: string; status: string; msg: string }[];
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

/**
 * kubeconform -strict on the manifests in `text`. The ServiceMonitor is a Prometheus Operator
 * custom resource, for which kubernetes-validate has no schema: serviceMonitorErrors checks it.
 */
async function kubeconform(text: string, name: string): Promise<KubeconformResult> {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, text);
  const args = ['-strict', '-summary', '-output', 'json', '-kubernetes-version', tools.kubernetesVersion.replace(/^v/, ''), '-schema-location', tools.schemaLocation, '-skip', 'ServiceMonitor', file];
  try {
    const { stdout } = await run(tools.kubeconform, args, { maxBuffer: 16 << 20 });
    return JSON.parse(stdout) as KubeconformResult;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    if (!e.stdout?.trim().startsWith('{')) throw new Error(`kubeconform failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
    return JSON.parse(e.stdout) as KubeconformResult;
  }
}

/**
 * The ServiceMonitor against the CRD's schema (@kubernetes-models/prometheus-operator): types,
 * enums and patterns. Like the API server for a custom resource, it does not refuse unknown
 * fields; the full-render test compares the ServiceMonitor's spec whole for that.
 */
async function serviceMonitorErrors(manifest: Manifest): Promise<string | undefined> {
  const { ServiceMonitor } = (await import(tools.serviceMonitorModel)) as { ServiceMonitor: new (data: Manifest) => { validate(): void } };
  try {
    new ServiceMonitor(manifest).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const container = (r: Rendered): Manifest => r.byKind('StatefulSet').spec.template.spec.containers[0];
const envOf = (c: Manifest): Map<string, Manifest> => new Map((c.env ?? []).map((e: Manifest) => [e.name, e]));

describe('helm chart (deploy/helm)', () => {
  it('passes helm lint --strict with the default values and with ci/full-values.yaml', async () => {
    const plain = await helm(tools.helm, ['lint', '--strict', chart]);
    expect(plain.code, plain.output).toBe(0);
    const full = await helm(tools.helm, ['lint', '--strict', chart, '-f', FULL_VALUES]);
    expect(full.code, full.output).toBe(0);
    expect(full.output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it.each([
    ['default values', []],
    ['full values', ['-f', FULL_VALUES]],
  ])('renders manifests the Kubernetes API schemas accept, strictly (%s)', async (name, args) => {
    const rendered = await renderChart(tools.helm, chart, args);
    const result = await kubeconform(rendered.text, name.replace(' ', '-'));
    const bad = result.resources.filter((r) => r.status !== 'statusValid' && r.status !== 'statusSkipped');
    expect(bad).toEqual([]);
    const checked = rendered.manifests.filter((m) => m.kind !== 'ServiceMonitor');
    expect(result.summary).toEqual({ valid: checked.length, invalid: 0, errors: 0, skipped: rendered.manifests.length - checked.length });
    expect(checked.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'StatefulSet']);
    for (const monitor of rendered.manifests.filter((m) => m.kind === 'ServiceMonitor')) expect(await serviceMonitorErrors(monitor)).toBeUndefined();
  });

  it('kubeconform refuses a field the Kubernetes API does not have (strict), the ServiceMonitor schema a malformed interval', async () => {
    const rendered = await renderChart(tools.helm, chart);
    const sts = rendered.byKind('StatefulSet');
    sts.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/healthz';
    const result = await kubeconform(JSON.stringify(sts), 'unknown-field');
    expect(result.summary.invalid).toBe(1);
    expect(result.resources[0]!.msg).toMatch(/paht/);

    const monitor = (await renderChart(tools.helm, chart, ['-f', FULL_VALUES])).byKind('ServiceMonitor');
    monitor.spec.endpoints[0].interval = 'every 15 seconds';
    expect(await serviceMonitorErrors(monitor)).toMatch(/interval must match pattern/);
  });

  it('default render: probes on the http port, the state claim, a locked-down pod, and a config sluice loads', async () => {
    const rendered = await renderChart(tools.helm, chart);
    const c = container(rendered);
    const pod = rendered.byKind('StatefulSet').spec.template.spec;
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // Generous enough for a state restore before liveness applies.
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);

    const claim = rendered.byKind('StatefulSet').spec.volumeClaimTemplates;
    expect(claim).toHaveLength(1);
    expect(claim[0].metadata.name).toBe('state');
    expect(claim[0].spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } });
    expect(c.volumeMounts).toContainEqual({ name: 'state', mountPath: '/var/lib/sluice' });
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: {} });

    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } });
    expect([...envOf(c).keys()].filter((k) => k.startsWith('OTEL_')), 'no tracing unless asked').toEqual([]);

    const service = rendered.byKind('Service');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expect(rendered.byKind('PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    expect(rendered.manifests.some((m) => m.kind === 'ServiceMonitor')).toBe(false);

    const { raw, config, secretFiles } = await loadPodConfig(rendered);
    expect(raw.http).toEqual({ host: '0.0.0.0', port: 8080, advertisedUrl: { env: 'SLUICE_ADVERTISED_URL' } });
    expect(secretFiles).toEqual([]);
    expect(config.application.id).toBe('player-stats');
    expect(config.application.stateDir.endsWith('/var/lib/sluice')).toBe(true);
    expect(config.windows.map((w) => w.name)).toEqual(['per_player_1m', 'per_player_5m_by_1m']);
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
  });

  it('full render: Secrets mounted where the config points, OTEL env, ServiceMonitor on /metrics, and a config sluice loads', async () => {
    const rendered = await renderChart(tools.helm, chart, ['-f', FULL_VALUES]);
    const c = container(rendered);
    const sts = rendered.byKind('StatefulSet');
    expect(sts.spec.replicas).toBe(3);
    expect(c.image).toBe('registry.example.com/streams/sluice:0.1.0-test');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9000, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startupProbe.failureThreshold).toBe(180);
    expect(c.resources).toEqual({ requests: { cpu: '2', memory: '1Gi' }, limits: { memory: '2Gi' } });
    expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast-ssd', resources: { requests: { storage: '20Gi' } } });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Delete' });

    const env = envOf(c);
    expect(env.get('OTEL_TRACES_EXPORTER')?.value).toBe('otlp');
    expect(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value).toBe('http://otel-collector.observability:4318');
    expect(env.get('OTEL_EXPORTER_OTLP_PROTOCOL')?.value).toBe('http/protobuf');
    expect(env.get('OTEL_SERVICE_NAME')?.value).toBe('player-stats');
    expect(env.get('OTEL_TRACES_SAMPLER')?.value).toBe('parentbased_traceidratio');
    expect(env.get('OTEL_TRACES_SAMPLER_ARG')?.value).toBe('0.25');
    expect(env.get('OTEL_EXPORTER_OTLP_HEADERS')?.valueFrom).toEqual({ secretKeyRef: { name: 'otel-credentials', key: 'headers' } });
    expect(env.get('OTEL_RESOURCE_ATTRIBUTES')?.value).toContain('k8s.pod.name=$(POD_NAME)');
    expect(env.get('OTEL_METRIC_EXPORT_INTERVAL')?.value).toBe('60000');
    expect(env.get('NODE_ENV')?.value).toBe('production');

    const monitor = rendered.byKind('ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels.release).toBe('prometheus');
    const selector = rendered.byKind('Service').spec.selector;
    expect(monitor.spec).toEqual({
      selector: { matchLabels: selector },
      namespaceSelector: { matchNames: ['streams'] },
      endpoints: [{ port: 'http', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '5s' }],
    });
    expect(rendered.byKind('Service').spec.ports).toEqual([{ name: 'http', port: 9000, targetPort: 'http', protocol: 'TCP' }]);

    const { raw, config, secretFiles } = await loadPodConfig(rendered);
    expect(raw.http).toEqual({ host: '0.0.0.0', port: 9000, maxBodyBytes: 2097152, readyMaxLag: 50000, authToken: { file: '/var/run/secrets/sluice/http-token/token' }, advertisedUrl: { env: 'SLUICE_ADVERTISED_URL' } });
    // POD_NAME is defined once, before every variable that uses it (tracing's among them).
    const names = (c.env as Manifest[]).map((e) => e.name);
    expect(names.filter((n) => n === 'POD_NAME')).toHaveLength(1);
    expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    expect(env.get('SLUICE_ADVERTISED_URL')?.value).toBe('http://$(POD_NAME).player-stats-sluice-headless.streams.svc:9000');
    expect((raw.kafka as Manifest).ssl).toEqual({ servername: 'kafka.streams.svc', ca: '/var/run/secrets/sluice/kafka-tls/ca.crt', cert: '/var/run/secrets/sluice/kafka-tls/tls.crt', key: '/var/run/secrets/sluice/kafka-tls/tls.key' });
    expect((raw.kafka as Manifest).sasl).toEqual({ mechanism: 'scram-sha-512', username: 'player-stats', passwordFile: '/var/run/secrets/sluice/kafka-sasl/password' });
    // Every secret path in the config (helm sorts its keys) is a key of a Secret the pod mounts, read-only.
    expect(secretFiles.map((f) => [f.configPath, f.secretName, f.key])).toEqual([
      ['http.authToken.file', 'sluice-http-token', 'token'],
      ['kafka.sasl.passwordFile', 'sluice-kafka-sasl', 'password'],
      ['kafka.ssl.ca', 'sluice-kafka-tls', 'ca.crt'],
      ['kafka.ssl.cert', 'sluice-kafka-tls', 'tls.crt'],
      ['kafka.ssl.key', 'sluice-kafka-tls', 'tls.key'],
    ]);
    for (const mount of c.volumeMounts.filter((m: Manifest) => m.mountPath.startsWith('/var/run/secrets/sluice/'))) expect(mount.readOnly).toBe(true);
    expect(config.kafka.brokers).toEqual(['kafka-0.kafka:9093', 'kafka-1.kafka:9093']);
    expect(config.workers).toBe(2);
  });

  it('each pod advertises its own DNS name under the headless Service, which the config reads its advertisedUrl from', async () => {
    const rendered = await renderChart(tools.helm, chart);
    const sts = rendered.byKind('StatefulSet');
    const service = rendered.byKind('Service');
    // The governing Service of the StatefulSet, headless: each pod gets <pod>.<service> in DNS,
    // from its start on, so a redirected query reaches the very pod that owns the partition.
    expect(sts.spec.serviceName).toBe(service.metadata.name);
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: sts.spec.selector.matchLabels });
    const c = container(rendered);
    const names = (c.env as Manifest[]).map((e) => e.name);
    expect(names.slice(0, 2)).toEqual(['POD_NAME', 'SLUICE_ADVERTISED_URL']);
    const env = envOf(c);
    expect(env.get('POD_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    const template = env.get('SLUICE_ADVERTISED_URL')?.value as string;
    expect(template).toBe(`http://$(POD_NAME).${service.metadata.name}.streams.svc:8080`);

    // What sluice makes of it in pod 1, as the kubelet expands $(POD_NAME).
    const { config } = await loadPodConfig(rendered);
    expect(config.http.advertisedUrl).toEqual({ env: 'SLUICE_ADVERTISED_URL' });
    const url = resolveAdvertisedUrl(config.http, { SLUICE_ADVERTISED_URL: template.replace('$(POD_NAME)', `${sts.metadata.name}-1`) });
    expect(url).toBe('http://player-stats-sluice-1.player-stats-sluice-headless.streams.svc:8080');
    // An advertisedUrl set in the values is kept, and the variable is then unused.
    const own = await loadPodConfig(await renderChart(tools.helm, chart, ['--set', 'config.http.advertisedUrl=https://stats.example.com']));
    expect(own.config.http.advertisedUrl).toBe('https://stats.example.com');
  });

  it.each([
    ['a stateDir off the state volume', ['--set', 'config.application.stateDir=/data'], /config\.application\.stateDir must be \/var\/lib\/sluice/],
    ['HTTP turned off', ['--set', 'config.http.port=0'], /config\.http\.port must not be 0/],
    ['a SASL Secret without config.kafka.sasl', ['--set', 'secrets.kafkaSasl.secretName=s'], /secrets\.kafkaSasl needs config\.kafka\.sasl/],
    ['a misspelt chart value (values.schema.json)', ['--set', 'secrets.kafkaSasl.secretname=s'], /additional properties 'secretname' not allowed/],
  ])('refuses to render %s', async (_name, args, message) => {
    const r = await helm(tools.helm, ['template', 'player-stats', chart, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(message);
  });
});
