/**
 * Structured logging in pino's call shape: `log.info('msg')` or `log.info({ key }, 'msg')`.
 * A pino (or pino-compatible) logger can be passed wherever a Logger is asked for.
 */
export type LogFn = (objOrMsg: object | string, msg?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const noop: LogFn = () => {};

/** The default everywhere: a library should say nothing unless asked to. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface ConsoleLoggerOptions {
  /** Where lines go; default the global console. */
  console?: Pick<Console, 'debug' | 'info' | 'warn' | 'error'>;
}

/**
 * Human-readable lines on the console for `level` and above, for development and examples;
 * production setups pass pino instead.
 */
export function consoleLogger(level: LogLevel = 'info', options: ConsoleLoggerOptions = {}): Logger {
  const out = options.console ?? console;
  const min = RANK[level];
  const at = (name: Exclude<LogLevel, 'silent'>): LogFn => {
    if (RANK[name] < min) return noop;
    const write = out[name].bind(out);
    return (objOrMsg, msg) => {
      if (typeof objOrMsg === 'string') write(`[${name}] ${objOrMsg}`);
      else if (msg === undefined) write(`[${name}]`, objOrMsg);
      else write(`[${name}] ${msg}`, objOrMsg);
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
