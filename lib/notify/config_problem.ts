/**
 * A config that will not load, told as an incident: once per distinct message and then once per
 * `repeat` (each a new escalation superseding the last), and resolved by the first tick whose
 * config loads. What was told is kept in `cron_config_problem.json`, not in the state (which a
 * bad config leaves as it was); the file is emptied once the fix is told, so the tick that loads
 * its config pays one `lstat` to know there is nothing to resolve.
 */

import { boundText } from "../process/result.ts";
import { atomicWrite, ensurePrivateDir, pathKind } from "../store/fs.ts";
import { parseTimestamp } from "../store/state.ts";
import {
  configEvent,
  configFixedEvent,
  escalationId,
  incidentId,
  MAX_CONFIG_MESSAGE_CHARS,
} from "./events.ts";
import { announce, type NotifyContext, queueEvent, storeWarning } from "./notify.ts";

/** The config problem told last, and the incident it belongs to. */
interface ToldProblem {
  message: string;
  notified: number;
  /** When the incident began (its first telling). */
  since: string;
  told: number;
  escalation_id: string | null;
}

/** The problem told, or null when none waits for its fix (or the file is not one). */
function readProblem(path: string): ToldProblem | null {
  if (pathKind(path) !== "file") return null;
  try {
    const told = JSON.parse(Deno.readTextFileSync(path));
    const notified = parseTimestamp(told?.notified);
    if (typeof told.message !== "string" || notified === null) return null;
    return {
      message: told.message,
      notified,
      since: typeof told.since === "string" ? told.since : told.notified,
      told: Number.isSafeInteger(told.told) && told.told > 0 ? told.told : 1,
      escalation_id: typeof told.escalation_id === "string" ? told.escalation_id : null,
    };
  } catch {
    return null;
  }
}

/** Records what was told; a failure (a full disk) is a warning: it is told again, not never. */
function writeProblem(context: NotifyContext, text: string): void {
  const path = context.paths.configProblem;
  try {
    ensurePrivateDir(context.paths.root, context.paths.root);
    atomicWrite(path, new TextEncoder().encode(text));
  } catch (error) {
    storeWarning(context, "config_problem_not_written", path, error, undefined);
  }
}

/** What telling a broken config is about. */
export interface BrokenConfig {
  /** The located message of the problem. */
  message: string;
  /** The config file, resolved. */
  file: string;
  host: () => string;
  now: number;
  /** When a runner last loaded a config and ticked (the config was fixed since, if later). */
  lastTickAt: number;
}

/**
 * Tells a config that does not load, when that is news: another message than the one last told,
 * the same one after `repeat`, or a breakage after a tick that loaded the config. Queued before
 * it is recorded as told: a runner killed in between tells it twice, not never.
 */
export async function tellInvalidConfig(
  context: NotifyContext,
  broken: BrokenConfig,
): Promise<void> {
  if (!context.settings.on.includes("config")) return;
  const message = boundText(broken.message, MAX_CONFIG_MESSAGE_CHARS);
  const problem = readProblem(context.paths.configProblem);
  const anew = problem === null || broken.lastTickAt > problem.notified;
  const news = anew || problem.message !== message ||
    !(broken.now - problem.notified < context.settings.repeatMs);
  if (!news) return;
  const host = broken.host();
  const since = anew ? new Date(broken.now).toISOString() : problem.since;
  const told = anew ? 1 : problem.told + 1;
  const escalation = escalationId(incidentId(host, "config", since), told);
  const event = configEvent(message, broken.file, host, broken.now, {
    escalation_id: escalation,
    supersedes: anew ? null : problem.escalation_id,
  });
  const queued = await queueEvent(event, context);
  const record = { message, notified: event.at, since, told, escalation_id: escalation };
  writeProblem(context, JSON.stringify(record));
  await announce(event, context, queued);
}

/**
 * The first tick whose config loads after a broken one was told: the fix is told (it resolves
 * the broken config's escalation), then the record emptied. A runner killed in between tells
 * the fix twice, which resolves the same notification twice.
 */
export async function tellConfigFixed(
  context: NotifyContext,
  fixed: { file: string; host: () => string; now: number },
): Promise<void> {
  const problem = readProblem(context.paths.configProblem);
  // A record without an escalation is an older runner's, which never emptied it when the config
  // was fixed: its fix may be months old, and is not news.
  if (problem?.escalation_id && context.settings.on.includes("config")) {
    const event = configFixedEvent(fixed.file, fixed.host(), fixed.now, problem.escalation_id);
    const queued = await queueEvent(event, context);
    writeProblem(context, "");
    await announce(event, context, queued);
    return;
  }
  writeProblem(context, "");
}
