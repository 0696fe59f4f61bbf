// Reads the repository's Dockerfile into what the image test repeats on the host: each stage's
// WORKDIR, COPY and RUN steps, and the final stage's ENV, USER, VOLUME, ENTRYPOINT and CMD. Only
// the instruction forms the Dockerfile uses are understood; anything else fails loudly, so the
// test cannot silently drift from the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Copy {
  /** the stage copied from (`--from=`), or undefined for the build context */
  from?: string;
  sources: string[];
  dest: string;
}

export interface Stage {
  name?: string;
  workdir: string;
  copies: Copy[];
  runs: string[];
  env: Record<string, string>;
  user?: string;
  volumes: string[];
  entrypoint?: string[];
  cmd?: string[];
}

export interface Dockerfile {
  stages: Stage[];
  final: Stage;
  stage(name: string): Stage;
}

/** Instructions, one a line: continuation lines joined, comments and blank lines dropped. */
function instructions(text: string): { keyword: string; rest: string }[] {
  const joined = text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), rest: rest.join(' ') };
    });
}

function jsonArray(keyword: string, rest: string): string[] {
  const value: unknown = JSON.parse(rest);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${keyword} must be a JSON array of strings (exec form), not ${rest}`);
  return value as string[];
}

function parseCopy(rest: string): Copy {
  const words = rest.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else throw new Error(`COPY flag ${flag} is not understood by test/deploy/dockerfile.ts`);
  }
  const dest = words.pop();
  if (dest === undefined || words.length === 0) throw new Error(`COPY ${rest}: expected sources and a destination`);
  return { ...(from === undefined ? {} : { from }), sources: words, dest };
}

export function parseDockerfile(text: string): Dockerfile {
  const stages: Stage[] = [];
  for (const { keyword, rest } of instructions(text)) {
    if (keyword === 'FROM') {
      const name = /\bAS\s+(\S+)$/i.exec(rest)?.[1];
      stages.push({ ...(name === undefined ? {} : { name }), workdir: '/', copies: [], runs: [], env: {}, volumes: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === 'ARG') continue;
      throw new Error(`${keyword} before the first FROM`);
    }
    switch (keyword) {
      case 'ARG':
        break;
      case 'WORKDIR':
        stage.workdir = rest;
        break;
      case 'COPY':
        stage.copies.push(parseCopy(rest));
        break;
      case 'RUN':
        stage.runs.push(rest);
        break;
      case 'ENV':
        for (const pair of rest.split(/\s+/)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new Error(`ENV ${rest}: expected NAME=value pairs`);
          stage.env[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        break;
      case 'USER':
        stage.user = rest;
        break;
      case 'VOLUME':
        stage.volumes.push(...jsonArray(keyword, rest));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = jsonArray(keyword, rest);
        break;
      case 'CMD':
        stage.cmd = jsonArray(keyword, rest);
        break;
      default:
        throw new Error(`Dockerfile instruction ${keyword} is not understood by test/deploy/dockerfile.ts`);
    }
  }
  const final = stages.at(-1);
  if (final === undefined) throw new Error('no FROM in the Dockerfile');
  const stage = (name: string) => {
    const found = stages.find((s) => s.name === name);
    if (found === undefined) throw new Error(`no stage named ${name}`);
    return found;
  };
  return { stages, final, stage };
}

export function readDockerfile(root: string): Dockerfile {
  return parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
}
