/**
 * Turning a field path into a located problem (`teleclaude.yml:14:7: jobs.nightly.when.every:
 * "10x" is not a duration`), and zod's issues into sentences that quote the bad value.
 */

import {
  isMap,
  isPair,
  isScalar,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from "yaml";
import type { z } from "zod";
import type { Problem } from "../errors.ts";

/** The suggestion for a typo lives with the errors: the command line makes them too. */
export { closest } from "../errors.ts";

/** What the parse of one config collects as it goes: the places, the problems, the warnings. */
export interface Findings {
  here: Locator;
  problems: Problem[];
  warnings: Problem[];
}

/** Turns a field path into a located problem, using the YAML node's position. */
export class Locator {
  /** Each mapping's pairs by key, built on first use: a lookup is then O(1), not O(keys). */
  private readonly indexes = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly root: unknown,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  /** A problem about a field's value. */
  problem(path: string[], message: string): Problem {
    return this.at(path, false, message);
  }

  /** A problem about a field's key (unknown key, bad job name). */
  keyProblem(path: string[], message: string): Problem {
    return this.at(path, true, message);
  }

  /** A problem at a character offset of the text (YAML syntax errors). */
  offsetProblem(offset: number, message: string): Problem {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, message };
  }

  private at(path: string[], atKey: boolean, message: string): Problem {
    const node = this.find(path, atKey);
    const problem: Problem = { file: this.file, field: path.join("."), message };
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const { line, col } = this.lines.linePos(offset);
      problem.line = line;
      problem.column = col;
    }
    return problem;
  }

  private find(path: string[], atKey: boolean): Node | null {
    let node = this.root as Node | null;
    for (const [index, key] of path.entries()) {
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = this.pairs(node).get(key);
        if (!pair) return node;
        if (last && atKey) return pair.key as Node;
        node = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (node && "items" in node && Array.isArray(node.items)) {
        const item = node.items[Number(key)] as Node | undefined;
        if (!item) return node;
        node = item;
      } else {
        return node;
      }
    }
    return node;
  }

  private pairs(map: YAMLMap): Map<string, Pair> {
    let index = this.indexes.get(map);
    if (!index) {
      index = new Map();
      for (const item of map.items) {
        if (!isPair(item) || !isScalar(item.key)) continue;
        const key = String(item.key.value);
        if (!index.has(key)) index.set(key, item);
      }
      this.indexes.set(map, index);
    }
    return index;
  }
}

/** zod's issues for the value at `base`, as located problems. */
export function zodProblems(
  error: z.ZodError,
  base: string[],
  value: unknown,
  here: Locator,
  allowedKeys: (path: PropertyKey[]) => string[],
): Problem[] {
  return error.issues.map((issue) => {
    const path = [...base, ...issue.path.map(String)];
    return issue.code === "unrecognized_keys"
      ? here.keyProblem(
        [...path, issue.keys[0] ?? ""],
        `unknown key (allowed: ${allowedKeys(issue.path).join(", ")})`,
      )
      : here.problem(path, describeIssue(issue, valueAt(value, issue.path)));
  });
}

function describeIssue(issue: z.core.$ZodIssue, actual: unknown): string {
  switch (issue.code) {
    case "invalid_value":
      return `${describe(actual)} is not one of ${issue.values.map(String).join(", ")}`;
    case "invalid_type":
      return `must be ${article(issue.expected)}, got ${describe(actual)}`;
    case "invalid_union":
      return `has the wrong shape, got ${describe(actual)} (see the example teleclaude.yml)`;
    case "too_small":
      return issue.origin === "array" || issue.origin === "string"
        ? `must not be empty`
        : `${describe(actual)} is too small (${
          issue.inclusive === false
            ? `it must be more than ${issue.minimum}`
            : `minimum ${issue.minimum}`
        })`;
    case "too_big":
      return `${describe(actual)} is too large (${
        issue.inclusive === false
          ? `it must be less than ${issue.maximum}`
          : `maximum ${issue.maximum}`
      })`;
    default:
      return `${issue.message}, got ${describe(actual)}`;
  }
}

function article(expected: string): string {
  if (expected === "int") return "a whole number";
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** A value as a message quotes it: strings in quotes, containers by kind. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
