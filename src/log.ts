// Plain one-line logs on stderr: operators grep them, and stdout stays free for command output.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(level: LogLevel, name = 'sluice', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = RANK[level];
  const at = (lvl: LogLevel) => (msg: string) => {
    if (RANK[lvl] >= min) write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${name}: ${msg}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
