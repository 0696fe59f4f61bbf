import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  exitCodeOf,
  isSluiceError,
  recoveryFor,
  SluiceError,
  sluiceError,
  TaskCorruptedError,
  TaskMigratedError,
  type SluiceErrorCode,
} from '../../src/errors.ts';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const codes = Object.keys(ERROR_CODES) as SluiceErrorCode[];

// `| \`CODE\` | exit | yes/no | meaning |`
const documented = new Map(
  [...docs.matchAll(/^\|\s*`(SLUICE_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(yes|no)\s*\|/gm)].map((m) => [
    m[1],
    { exitCode: Number(m[2]), canRetry: m[3] === 'yes' },
  ]),
);

describe('error-code registry', () => {
  it('uses SLUICE_ upper-case codes', () => {
    for (const code of codes) expect(code).toMatch(/^SLUICE_[A-Z_]+$/);
  });

  it('documents every code in docs/errors.md with its exit code and canRetry', () => {
    for (const code of codes) {
      expect(documented.get(code), code).toEqual({ exitCode: ERROR_CODES[code].exitCode, canRetry: ERROR_CODES[code].canRetry });
    }
  });

  it('documents no code that the registry lacks', () => {
    const mentioned = new Set(docs.match(/SLUICE_[A-Z_]+/g));
    expect([...mentioned].sort()).toEqual([...codes].sort());
  });

  it('is frozen', () => {
    expect(Object.isFrozen(ERROR_CODES)).toBe(true);
    for (const code of codes) expect(Object.isFrozen(ERROR_CODES[code])).toBe(true);
  });
});

describe('SluiceError', () => {
  it('takes canRetry and exitCode from the registry', () => {
    const cause = new Error('ECONNREFUSED');
    const err = sluiceError('SLUICE_BROKERS_UNREACHABLE', 'brokers 127.0.0.1:9092 unreachable', { cause, details: { tries: 3 } });
    expect(err).toBeInstanceOf(SluiceError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'SLUICE_BROKERS_UNREACHABLE', canRetry: true, exitCode: 1, details: { tries: 3 }, cause });
    expect(err.message).toBe('brokers 127.0.0.1:9092 unreachable');
    expect(err.name).toBe('SluiceError');
  });

  it('lets a wrapped client error override canRetry', () => {
    expect(sluiceError('SLUICE_KAFKA', 'not authorized', { canRetry: false }).canRetry).toBe(false);
    expect(sluiceError('SLUICE_KAFKA', 'timeout').canRetry).toBe(true);
  });

  it('has no cause unless given one', () => {
    expect('cause' in sluiceError('SLUICE_INTERNAL', 'bug')).toBe(false);
  });

  it('tells the recovery action by class', () => {
    const migrated: unknown = new TaskMigratedError(3);
    const corrupted: unknown = new TaskCorruptedError(5, 'checksum mismatch');
    expect(migrated).toBeInstanceOf(TaskMigratedError);
    expect(migrated).not.toBeInstanceOf(TaskCorruptedError);
    expect(corrupted).toBeInstanceOf(TaskCorruptedError);
    expect(migrated).toMatchObject({ code: 'SLUICE_TASK_MIGRATED', partition: 3, canRetry: true, name: 'TaskMigratedError' });
    expect(corrupted).toMatchObject({ code: 'SLUICE_TASK_CORRUPTED', partition: 5, message: 'checksum mismatch' });
    expect((migrated as Error).message).toContain('partition 3');
  });

  it('maps errors to exit codes, treating foreign errors as bugs', () => {
    expect(exitCodeOf(sluiceError('SLUICE_CONFIG_INVALID', 'x'))).toBe(2);
    expect(exitCodeOf(sluiceError('SLUICE_INPUT_TOPIC_MISSING', 'x'))).toBe(1);
    expect(exitCodeOf(new TypeError('boom'))).toBe(70);
    expect(exitCodeOf('string')).toBe(70);
    expect(isSluiceError(new Error('x'))).toBe(false);
  });
});

describe('recoveryFor', () => {
  it('dispatches on the class first, then on canRetry', () => {
    expect(recoveryFor(new TaskMigratedError(1))).toBe('rejoin');
    expect(recoveryFor(new TaskCorruptedError(1))).toBe('restore');
    expect(recoveryFor(sluiceError('SLUICE_INTERNAL', 'bug'))).toBe('escalate');
    expect(recoveryFor(sluiceError('SLUICE_KAFKA', 'not authorized', { canRetry: false }))).toBe('escalate');
    expect(recoveryFor(sluiceError('SLUICE_KAFKA', 'timeout'))).toBe('reopen');
    expect(recoveryFor(sluiceError('SLUICE_STATE_LOCKED', 'held'))).toBe('reopen');
    expect(recoveryFor(new Error('lmdb'))).toBe('reopen');
  });
});
