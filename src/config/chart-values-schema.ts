// The Helm chart's own values (deploy/helm/values.yaml), beside `config`, which is the pipeline
// config schema itself. Only the JSON schema is generated from this (deploy/helm/values.schema.json,
// by artifacts.ts), so that `helm install`, `lint` and `template` refuse a misspelt or misplaced
// key instead of silently ignoring it. Values that are Kubernetes objects passed through as they
// are (resources, affinity, securityContext, ...) are left open: the API server checks those.
import { z } from 'zod';

const kubernetesObject = z.record(z.string(), z.unknown());
const kubernetesList = z.array(kubernetesObject);
const stringMap = z.record(z.string(), z.string());
const envMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const seconds = z.int().min(1);

const probe = (what: string) =>
  z
    .strictObject({ enabled: z.boolean(), periodSeconds: seconds, timeoutSeconds: seconds, failureThreshold: seconds })
    .describe(`${what}, on the http port.`);

const secretFile = (what: string) =>
  z.strictObject({
    secretName: z.string().describe(`Secret holding ${what}; "" for none.`),
    key: z.string().min(1).describe('Key of the Secret that holds it.'),
  });

export const chartValuesSchema = z.strictObject({
  replicaCount: z.int().min(0).describe('Pods in the consumer group; more than the input partitions stay idle.'),
  image: z.strictObject({
    repository: z.string().min(1),
    tag: z.string().describe('"" uses the chart\'s appVersion.'),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
    command: z.array(z.string()).min(1).describe("The container's command: the image's ENTRYPOINT, or sluice's bin run by node; never npx or npm."),
  }),
  imagePullSecrets: kubernetesList,
  nameOverride: z.string(),
  fullnameOverride: z.string(),
  serviceAccount: z.strictObject({
    create: z.boolean(),
    name: z.string(),
    annotations: stringMap,
    automountServiceAccountToken: z.boolean(),
  }),
  podAnnotations: stringMap,
  podLabels: stringMap,
  podManagementPolicy: z.enum(['Parallel', 'OrderedReady']),
  updateStrategy: kubernetesObject,
  terminationGracePeriodSeconds: z.int().min(0),
  podSecurityContext: kubernetesObject,
  securityContext: kubernetesObject,
  resources: kubernetesObject,
  env: envMap.describe('Environment variables as name: value.'),
  extraEnv: kubernetesList.describe('Raw EnvVar entries.'),
  otel: z
    .strictObject({
      endpoint: z.string().describe('OTEL_EXPORTER_OTLP_ENDPOINT; "" sets no OTEL_* variable (tracing off).'),
      protocol: z.enum(['', 'http/protobuf', 'http/json', 'grpc']),
      serviceName: z.string(),
      sampler: z.string(),
      samplerArg: z.string(),
      headersSecret: z.strictObject({ name: z.string(), key: z.string().min(1) }),
      extraEnv: envMap.describe('Other OTEL_* variables as name: value.'),
    })
    .describe('OpenTelemetry tracing through the standard OTEL_* variables.'),
  secrets: z
    .strictObject({
      httpToken: secretFile('the bearer token POST /events requires (config.http.authToken)'),
      kafkaTls: z.strictObject({
        secretName: z.string().describe('Secret with the PEM files for TLS to the brokers (config.kafka.ssl); "" for none.'),
        caKey: z.string(),
        certKey: z.string(),
        keyKey: z.string(),
      }),
      kafkaSasl: secretFile('the SASL password (config.kafka.sasl.passwordFile)'),
    })
    .describe('Secrets mounted as files under /var/run/secrets/sluice; the chart writes their paths into the config.'),
  persistence: z.strictObject({
    enabled: z.boolean(),
    size: z.string().min(1),
    storageClass: z.string(),
    accessModes: z.array(z.string()).min(1),
    annotations: stringMap,
    retentionPolicy: kubernetesObject,
    emptyDir: z.strictObject({ sizeLimit: z.string() }),
  }),
  podDisruptionBudget: z.strictObject({ enabled: z.boolean(), maxUnavailable: z.union([z.int().min(0), z.string()]) }),
  service: z.strictObject({ annotations: stringMap }),
  serviceMonitor: z.strictObject({ enabled: z.boolean(), interval: z.string(), scrapeTimeout: z.string(), labels: stringMap }),
  startupProbe: probe('GET /healthz until it first answers; liveness applies only after it'),
  livenessProbe: probe('GET /healthz'),
  readinessProbe: probe('GET /readyz'),
  nodeSelector: stringMap,
  tolerations: kubernetesList,
  affinity: kubernetesObject,
  topologySpreadConstraints: kubernetesList,
  priorityClassName: z.string(),
  extraVolumes: kubernetesList,
  extraVolumeMounts: kubernetesList,
});
