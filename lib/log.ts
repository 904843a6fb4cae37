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
  /** A raw line (a job's output tail). */
  raw(line: string): void;
}

/** Formats one logfmt line. Values with spaces, quotes or `=` are quoted. */
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
    parts.push(`${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.join(" ");
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
    raw: (line) => console.log(line),
  };
}

/** Prints a line for a person (tables, dry-run reasons, errors) on stdout or stderr. */
export function print(text: string, stream: "stdout" | "stderr" = "stdout"): void {
  if (stream === "stdout") console.log(text);
  else console.error(text);
}
