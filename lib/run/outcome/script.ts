/**
 * A script job's verdict: exit 0 is success, unless its last stdout line is the Python
 * original's JobResult (`{"success": bool, "message": str, "items_processed": int, "errors":
 * [str]}`), which then decides, and whose message and item count are kept.
 */

/** A script's own report of its run. */
export interface ScriptReport {
  success: boolean;
  message: string | null;
  itemsProcessed: number | null;
  errors: string[];
}

/** The verdict on a script run that exited with `code`. */
export interface ScriptVerdict {
  success: boolean;
  error: string | null;
  message: string | null;
  itemsProcessed: number | null;
}

/** Judges a script run from its exit code and the tail of its stdout. */
export function scriptVerdict(code: number, stdoutTail: string): ScriptVerdict {
  const reported = scriptReport(stdoutTail);
  const success = reported ? reported.success && code === 0 : code === 0;
  let error: string | null = null;
  if (!success) {
    error = code !== 0 ? `exited with code ${code}` : "reported success: false";
    if (reported?.errors.length) error += `: ${reported.errors.join("; ")}`;
    else if (reported?.message) error += `: ${reported.message}`;
  }
  return {
    success,
    error,
    message: reported?.message ?? null,
    itemsProcessed: reported?.itemsProcessed ?? null,
  };
}

/** The JobResult a script printed as its last stdout line, if it did. */
export function scriptReport(stdoutTail: string): ScriptReport | null {
  const last = stdoutTail.trimEnd().split("\n").at(-1)?.trim() ?? "";
  if (!last.startsWith("{")) return null;
  try {
    const value = JSON.parse(last) as Record<string, unknown>;
    if (typeof value.success !== "boolean") return null;
    return {
      success: value.success,
      message: typeof value.message === "string" ? value.message : null,
      itemsProcessed: typeof value.items_processed === "number" ? value.items_processed : null,
      errors: Array.isArray(value.errors) ? value.errors.map(String) : [],
    };
  } catch {
    return null;
  }
}
