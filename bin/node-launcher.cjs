#!/usr/bin/env node
// Runs a project command (a TypeScript script, or a dev tool's bin such as vitest) on a Node that
// satisfies package.json's engines. The machines this project meets ship an older Node, which
// cannot run TypeScript sources; there, the npm registry's `node` package (a real Node binary) is
// installed once into the cache, outside the repo, and the command re-runs on it. So `npm ci &&
// npm test` needs no hand-installed Node, and this file is the one place that knows how to get it.
//
//   node bin/node-launcher.cjs <script.ts | file.js | bin-name> [args...]
//   node bin/node-launcher.cjs --which     prints the path of a Node binary good enough (for .ci/run)
//
// It must itself run on the old Node, hence CommonJS and nothing newer than ES2019 syntax.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const url = require('url');

const ROOT = path.join(__dirname, '..');
// The major version installed when the running Node is too old; the cache folder is named after it.
const INSTALL_MAJOR = 24;
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
// Set in the environment of a re-run, so a cached Node that is somehow still too old fails loudly
// instead of re-running itself forever.
const RELAUNCHED_ENV = 'SLUICE_NODE_RELAUNCHED';

function log(line) {
  process.stderr.write('sluice: ' + line + '\n');
}

/** package.json's engines.node, which must be of the form ">=X[.Y[.Z]]". */
function requiredRange() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const range = pkg.engines && pkg.engines.node;
  if (typeof range !== 'string' || !/^>=\s*\d+(\.\d+){0,2}$/.test(range.trim())) {
    throw new Error('package.json engines.node must read ">=X.Y.Z" for bin/node-launcher.cjs, not ' + JSON.stringify(range));
  }
  return range.trim();
}

function parseVersion(v) {
  const parts = String(v).replace(/^v/, '').replace(/^>=\s*/, '').split(/[.-]/);
  return [Number(parts[0]) || 0, Number(parts[1]) || 0, Number(parts[2]) || 0];
}

/** Whether version `v` (e.g. "20.20.2") satisfies `range` (">=22.22"). */
function satisfies(v, range) {
  const have = parseVersion(v);
  const want = parseVersion(range);
  for (let i = 0; i < 3; i++) {
    if (have[i] !== want[i]) return have[i] > want[i];
  }
  return true;
}

function cacheRoot(env) {
  return env.SLUICE_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sluice');
}

function nodeHome(env) {
  return path.join(cacheRoot(env), 'node-' + INSTALL_MAJOR);
}

/** The Node binary and its version in an install folder, or undefined when there is none. */
function installedNode(home) {
  const bin = path.join(home, 'node_modules', '.bin', 'node');
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(home, 'node_modules', 'node', 'package.json'), 'utf8'));
    fs.accessSync(bin, fs.constants.X_OK);
    return { bin: bin, version: String(pkg.version) };
  } catch {
    return undefined;
  }
}

/**
 * Installs `node@INSTALL_MAJOR` into `home`. It goes to a private folder first and is renamed into
 * place, so an interrupted install or a second launcher installing at the same time never leaves a
 * half-filled `home` behind.
 */
function install(home) {
  const tmp = home + '.tmp-' + process.pid;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const args = ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', tmp, 'node@' + INSTALL_MAJOR];
  const res = childProcess.spawnSync('npm', args, { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.error || res.status !== 0 || !installedNode(tmp)) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const why = res.error ? res.error.message : (res.stdout + res.stderr).trim().split('\n').slice(-15).join('\n');
    throw new Error('installing Node ' + INSTALL_MAJOR + ' failed (npm ' + args.join(' ') + '):\n' + why +
      '\nInstall Node ' + requiredRange() + ' yourself and put it first on PATH, then run the command again.');
  }
  if (!installedNode(home)) fs.rmSync(home, { recursive: true, force: true });
  try {
    fs.renameSync(tmp, home);
  } catch (err) {
    // Another launcher finished first; its install is as good as ours.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!installedNode(home)) throw err;
  }
}

/**
 * A Node binary that satisfies the engines: this one, or the cached one (installed on first use).
 * Says in one line on stderr when it is not this one.
 */
function suitableNode(env) {
  const range = requiredRange();
  const current = process.versions.node;
  if (satisfies(current, range)) return { bin: process.execPath, version: current, current: true };
  if (env[RELAUNCHED_ENV]) {
    throw new Error('Node ' + current + ' at ' + process.execPath + ' was started by bin/node-launcher.cjs but is older than ' + range);
  }
  const home = nodeHome(env);
  let found = installedNode(home);
  if (found && !satisfies(found.version, range)) found = undefined;
  if (found) {
    log('Node ' + current + ' is older than this project needs (' + range + '); running with Node ' + found.version + ' from ' + home);
  } else {
    log('Node ' + current + ' is older than this project needs (' + range + '); installing Node ' + INSTALL_MAJOR + ' from the npm registry into ' + home + ' (once), then running with it');
    install(home);
    found = installedNode(home);
    if (!found || !satisfies(found.version, range)) throw new Error('the Node installed into ' + home + ' is older than ' + range);
  }
  return { bin: found.bin, version: found.version, current: false };
}

/** A dev tool's name (vitest, tsc, eslint) is its file behind node_modules/.bin; anything else is a path. */
function resolveTarget(target) {
  if (!/[/\\.]/.test(target)) {
    const link = path.join(ROOT, 'node_modules', '.bin', target);
    try {
      return fs.realpathSync(link);
    } catch (err) {
      throw new Error(target + ' is not installed in ' + path.dirname(link) + '; run npm ci first', { cause: err });
    }
  }
  return path.resolve(target);
}

/**
 * Runs `node <file> <args>` on `nodeBin` as a child that stands in for this process: the signals a
 * supervisor or terminal sends reach it, and its exit code (or the signal that ended it) becomes
 * this process's.
 */
function runChild(nodeBin, file, args, env) {
  const childEnv = Object.assign({}, env);
  childEnv[RELAUNCHED_ENV] = '1';
  // Whatever the command starts by name (`node`, npm scripts) gets the same Node.
  childEnv.PATH = path.dirname(nodeBin) + path.delimiter + (env.PATH || '');
  // Not process.execArgv: flags given to the old Node may mean something else to the new one (and
  // `-e` would re-run the caller); NODE_OPTIONS passes through the environment.
  const child = childProcess.spawn(nodeBin, [file].concat(args), { stdio: 'inherit', env: childEnv });
  const forward = {};
  FORWARDED_SIGNALS.forEach(function (sig) {
    forward[sig] = function () {
      child.kill(sig);
    };
    process.on(sig, forward[sig]);
  });
  function stopForwarding() {
    FORWARDED_SIGNALS.forEach(function (sig) {
      process.removeListener(sig, forward[sig]);
    });
  }
  child.on('error', function (err) {
    stopForwarding();
    log('could not start ' + nodeBin + ': ' + err.message);
    process.exit(1);
  });
  child.on('exit', function (code, signal) {
    stopForwarding();
    if (signal) {
      // Die of the same signal, so our parent sees what the child saw; a signal Node ignores
      // (SIGPIPE) falls through to the shell's 128+n convention.
      process.kill(process.pid, signal);
      process.exit(128 + (os.constants.signals[signal] || 0));
    }
    process.exit(code === null ? 1 : code);
  });
  return child;
}

/**
 * For an entry point that is itself run by `node` (the sluice bin): when this Node is too old,
 * re-runs `file` with `args` on a suitable one and returns true, and the caller must do nothing
 * else; returns false when this Node is good enough.
 */
function relaunchIfTooOld(file, args) {
  let node;
  try {
    node = suitableNode(process.env);
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
  if (node.current) return false;
  runChild(node.bin, file, args, process.env);
  return true;
}

function main(argv) {
  if (argv[0] === '--which') {
    try {
      process.stdout.write(suitableNode(process.env).bin + '\n');
    } catch (err) {
      log(err.message);
      process.exitCode = 1;
    }
    return;
  }
  if (argv.length === 0 || argv[0].charAt(0) === '-') {
    process.stderr.write('usage: node bin/node-launcher.cjs <script.ts | file.js | bin-name> [args...] | --which\n');
    process.exitCode = 2;
    return;
  }
  let file;
  let node;
  try {
    file = resolveTarget(argv[0]);
    node = suitableNode(process.env);
  } catch (err) {
    log(err.message);
    process.exitCode = 1;
    return;
  }
  if (!node.current) {
    runChild(node.bin, file, argv.slice(1), process.env);
    return;
  }
  // Good enough: run the command in this process, as `node <file> <args>` would, rather than pay
  // for a second process and stand between it and its signals.
  process.argv = [process.execPath, file].concat(argv.slice(1));
  import(url.pathToFileURL(file).href).catch(function (err) {
    console.error(err);
    process.exitCode = 1;
  });
}

module.exports = { satisfies: satisfies, cacheRoot: cacheRoot, nodeHome: nodeHome, runChild: runChild, relaunchIfTooOld: relaunchIfTooOld, requiredRange: requiredRange };

if (require.main === module) main(process.argv.slice(2));
