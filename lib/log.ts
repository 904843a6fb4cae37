// deno-lint-ignore-file no-console -- the output module: the one place (with main.ts) that prints.
/**
 * The runner's log: one structured line per event on stdout, which launchd and systemd send to
 * cron.log. Lines are logfmt (`ts=… level=info event=job_finished job=x status=success`), easy to
 * read and to grep. This module and `main.ts` are the only places that print.
 */

/** Where log lines go. Tests pass their own sink. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  debug(event: string, fields?: Record<string, unknown>): void;
  /** A line of a job's own output (its tail), printed with its control characters escaped. */
  raw(line: string): void;
}

/**
 * Formats one logfmt line. Values with spaces, quotes, `=` or control characters are quoted as
 * JSON strings, so a value a job controls (its error text) can neither forge a line nor reach a
 * terminal as an escape sequence.
 */
export function logLine(
  level: string,
  event: string,
  fields: Record<string, unknown>,
  now = new Date(),
): string {
  const parts = [`ts=${now.toISOString()}`, `level=${level}`, `event=${event}`];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === "") continue;
    const text = String(value);
    parts.push(`${key}=${NEEDS_QUOTES.test(text) ? quote(text) : text}`);
  }
  return parts.join(" ");
}

// deno-lint-ignore no-control-regex -- control characters are what must be quoted.
const NEEDS_QUOTES = /[\s"=\u0000-\u001f\u007f-\u009f]/;

/** A JSON string, with DEL and the C1 controls escaped too (JSON leaves them raw). */
function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f]/g, (char) => `\\u${hex(char, 4)}`);
}

/** A logger writing to stdout (info, debug) and stderr (warn, error); debug only when asked. */
export function consoleLogger(options: { debug: boolean }): Logger {
  return {
    info: (event, fields = {}) => console.log(logLine("info", event, fields)),
    warn: (event, fields = {}) => console.error(logLine("warn", event, fields)),
    error: (event, fields = {}) => console.error(logLine("error", event, fields)),
    debug: (event, fields = {}) => {
      if (options.debug) console.log(logLine("debug", event, fields));
    },
    raw: (line) => console.log(printable(line)),
  };
}

/**
 * Prints text for a person (tables, dry-run reasons, errors, JSON) on stdout or stderr. Lines and
 * tabs stay; any other control character is written as `\u00XX` (JSON reads it back the same).
 */
export function print(text: string, stream: "stdout" | "stderr" = "stdout"): void {
  const safe = text.replace(TERMINAL_CONTROL, (char) => `\\u${hex(char, 4)}`);
  if (stream === "stdout") console.log(safe);
  else console.error(safe);
}

// deno-lint-ignore no-control-regex -- control characters are what must not reach a terminal.
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text a job or a file controls (an error, a message, a line of output, a config key) as one line
 * of plain characters: a newline would forge another line or row, an escape sequence would reach
 * the terminal. Each control character becomes its escape (`\n`, `\r`, `\t`, `\x1b`).
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[char] ?? `\\x${hex(char, 2)}`;
  });
}

/** `1 job`, `2 jobs`: a count and its noun, in the singular for one (`plural` when not `+s`). */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}

function hex(char: string, digits: number): string {
  return char.charCodeAt(0).toString(16).padStart(digits, "0");
}
