// Config is validated once at startup, every problem is reported in one go (fixing a YAML file one
// error per restart is miserable), and the result is frozen so no component can quietly diverge
// from what the startup log said it was running with.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { sluiceError } from '../errors.ts';
import type { SluiceErrorCode } from '../errors.ts';
import { configSchema, requiredErrorMap, type SluiceConfig } from './schema.ts';
import { resolveSecurityPaths, securityIssues } from './security-schema.ts';

export interface ConfigIssue {
  /** e.g. `windows[0].grace`, `kafka.brokers`, or `(root)`. */
  path: string;
  message: string;
  /** set when the issue has an error code of its own, e.g. SLUICE_WINDOW_UNSUPPORTED */
  code?: SluiceErrorCode;
}

export interface ParseConfigOptions {
  /** Named in the error message, e.g. the config file path. */
  source?: string;
  /** Directory that a relative application.stateDir, input.schema or kafka.ssl/sasl file is resolved against; left relative if unset. */
  baseDir?: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** top-level keys of earlier versions, and what replaced them */
const RENAMED: Record<string, string> = {
  batch: 'replaced by batching (maxRecords, maxBytes, targetLatencyMs, maxIntervalMs)',
  commit: 'replaced by batching.maxIntervalMs (commit.intervalMs is now the upper bound of an adaptive interval)',
  metrics: 'replaced by http (use http.port and http.host: /metrics is served on the HTTP server\'s port)',
};

// Zod folds some problems into one issue; unfold them so each line names exactly one location.
function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: (issue.path.length === 0 ? RENAMED[key] : undefined) ?? 'unknown key' }));
  }
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return issue.issues.flatMap((inner) => toConfigIssues({ ...inner, path: [...issue.path, ...inner.path] }));
  }
  const code = issue.code === 'custom' ? (issue.params?.code as SluiceErrorCode | undefined) : undefined;
  return [code === undefined ? { path: formatPath(issue.path), message: issue.message } : { path: formatPath(issue.path), message: issue.message, code }];
}

function formatIssue(issue: ConfigIssue): string {
  return issue.code === undefined ? `${issue.path}: ${issue.message}` : `${issue.path}: ${issue.code}: ${issue.message}`;
}

/** The validated config is frozen wherever it lives, a worker thread's structured clone included. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): SluiceConfig {
  const result = configSchema.safeParse(raw, { error: requiredErrorMap });
  // The files and variables kafka.ssl and kafka.sasl name: checked here, beside the schema, because only here is the config file's directory known.
  const unusable = securityIssues(raw, options.baseDir).map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  if (!result.success || unusable.length > 0) {
    const issues = [...(result.error?.issues.flatMap(toConfigIssues) ?? []), ...unusable];
    const where = options.source === undefined ? 'config' : `config ${options.source}`;
    const header = `${where} is invalid (${issues.length} ${issues.length === 1 ? 'issue' : 'issues'}):`;
    throw sluiceError('SLUICE_CONFIG_INVALID', [header, ...issues.map(formatIssue)].join('\n'), {
      details: issues,
      cause: result.error ?? unusable,
    });
  }
  const config = result.data;
  if (options.baseDir !== undefined) resolveSecurityPaths(config.kafka, options.baseDir);
  if (options.baseDir !== undefined && !isAbsolute(config.application.stateDir)) {
    config.application.stateDir = resolve(options.baseDir, config.application.stateDir);
  }
  if (options.baseDir !== undefined && config.input.schema !== undefined && !isAbsolute(config.input.schema)) {
    config.input.schema = resolve(options.baseDir, config.input.schema);
  }
  for (const table of Object.values(config.tables)) {
    if (options.baseDir !== undefined && 'file' in table.source && !isAbsolute(table.source.file)) table.source.file = resolve(options.baseDir, table.source.file);
  }
  const token = config.http.authToken;
  if (options.baseDir !== undefined && token?.file !== undefined && !isAbsolute(token.file)) token.file = resolve(options.baseDir, token.file);
  return deepFreeze(config);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw sluiceError('SLUICE_CONFIG_UNREADABLE', `cannot read config file ${path}: ${reason}`, { cause: err });
  }
}

export function loadConfigFile(path: string): SluiceConfig {
  const doc = parseDocument(readText(path), { prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => e.message);
    throw sluiceError('SLUICE_CONFIG_UNREADABLE', `config file ${path} is not valid YAML:\n${problems.join('\n')}`, {
      details: doc.errors.map((e) => ({ message: e.message, line: e.linePos?.[0].line, col: e.linePos?.[0].col })),
      cause: doc.errors[0],
    });
  }
  return parseConfig(doc.toJS(), { source: path, baseDir: dirname(resolve(path)) });
}
