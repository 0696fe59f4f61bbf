// `kafka.client: platformatic` must never load kafkajs (nor its patches of kafkajs internals), and
// kafkajs mode never @platformatic/kafka: the entry point picks one adapter and loads only it. A
// child process imports the entry module and one adapter and reports every package module that
// was resolved, through require or import.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../../src/', import.meta.url));

function loadedPackages(adapter: string): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);
        if (m) seen.add(m[1]);
        return result;
      },
    });
    await import(${JSON.stringify(`${src}entry/app.ts`)});
    await import(${JSON.stringify(`${src}clients/${adapter}/client.ts`)});
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const out = execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe('one Kafka client per process', () => {
  it('loads no kafkajs module with @platformatic/kafka', () => {
    const loaded = loadedPackages('platformatic');
    expect(loaded).toContain('@platformatic/kafka');
    expect(loaded).not.toContain('kafkajs');
  });

  it('loads no @platformatic/kafka module with kafkajs', () => {
    const loaded = loadedPackages('kafkajs');
    expect(loaded).toContain('kafkajs');
    expect(loaded).not.toContain('@platformatic/kafka');
  });
});
