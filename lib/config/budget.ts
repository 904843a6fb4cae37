/**
 * `cron.budget`: what each agent's runs may spend per day and per month, in dollars or tokens.
 * Validated like every other field: located problems, exit 2. A dollar ceiling is refused for an
 * agent whose runs report no cost (codex, gemini report tokens only): it could never be reached,
 * so the guard would look set and hold nothing back; converting tokens to dollars would need a
 * price list that goes stale with every model.
 */

import { z } from "zod";
import { AGENT_NAMES, type AgentName, AGENTS_REPORTING_COST, type Budget } from "./job.ts";
import { closest, describe, type Findings, zodProblems } from "./locator.ts";

const ceilingsSchema = z.strictObject({
  daily_usd: z.number().positive().optional(),
  monthly_usd: z.number().positive().optional(),
  daily_tokens: z.int().positive().optional(),
  monthly_tokens: z.int().positive().optional(),
});
const CEILINGS = Object.keys(ceilingsSchema.shape);
const USD_KEYS = ["daily_usd", "monthly_usd"] as const;

/** `cron.budget` per agent; `{}` when absent, undefined (and problems) when wrong. */
export function parseBudget(
  raw: unknown,
  path: string[],
  found: Findings,
): Partial<Record<AgentName, Budget>> | undefined {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    found.problems.push(found.here.problem(
      path,
      `must be a mapping of agent to ceilings (e.g. claude: { daily_usd: 10 }), got ${
        describe(raw)
      }`,
    ));
    return undefined;
  }
  const before = found.problems.length;
  const budget: Partial<Record<AgentName, Budget>> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!(AGENT_NAMES as readonly string[]).includes(name)) {
      const guess = closest(name, [...AGENT_NAMES]);
      found.problems.push(found.here.keyProblem(
        [...path, name],
        `unknown agent (${guess ? `did you mean ${guess}?` : `use ${AGENT_NAMES.join(", ")}`})`,
      ));
      continue;
    }
    const ceilings = agentBudget(name as AgentName, value, [...path, name], found);
    if (ceilings) budget[name as AgentName] = ceilings;
  }
  return found.problems.length > before ? undefined : budget;
}

/** One agent's ceilings; null (and a problem) when wrong. */
function agentBudget(
  agent: AgentName,
  raw: unknown,
  path: string[],
  found: Findings,
): Budget | null {
  const result = ceilingsSchema.safeParse(raw);
  if (!result.success) {
    found.problems.push(...zodProblems(result.error, path, raw, found.here, () => CEILINGS));
    return null;
  }
  const data = result.data;
  if (!AGENTS_REPORTING_COST.includes(agent)) {
    const usd = USD_KEYS.find((key) => data[key] !== undefined);
    if (usd !== undefined) {
      found.problems.push(found.here.keyProblem(
        [...path, usd],
        `${agent} reports no cost, only tokens, so a dollar ceiling would never be reached: ` +
          `use ${usd.replace("usd", "tokens")}`,
      ));
      return null;
    }
  }
  if (Object.keys(data).length === 0) {
    found.problems.push(found.here.problem(
      path,
      `sets no ceiling: give one of ${
        (AGENTS_REPORTING_COST.includes(agent) ? CEILINGS : CEILINGS.slice(2)).join(", ")
      }`,
    ));
    return null;
  }
  return {
    dailyUsd: data.daily_usd ?? null,
    monthlyUsd: data.monthly_usd ?? null,
    dailyTokens: data.daily_tokens ?? null,
    monthlyTokens: data.monthly_tokens ?? null,
  };
}
