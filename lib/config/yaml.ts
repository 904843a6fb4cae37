/**
 * From YAML text to plain data, with every way that can fail located: syntax errors, duplicate
 * keys, aliases with no anchor, and aliases that expand without bound ("billion laughs"). Linear
 * in the size of the text: npm:yaml's own duplicate-key check compares each key with every
 * earlier one, which made 40,000 jobs take 26 s (docs/benchmarks.md, "Scale"), so duplicates are
 * found here with one Set per mapping instead.
 */

import { type Document, isAlias, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { ConfigError } from "../errors.ts";
import { Locator } from "./locator.ts";

/**
 * npm:yaml's default of 100 lets one anchor be used only 99 times (too few for shared job
 * defaults); past this many alias expansions the text is an attack, not a config.
 */
const MAX_ALIAS_COUNT = 10_000;

/** The text's data, and a locator for its fields. Throws a located `ConfigError`. */
export function readYaml(text: string, displayName: string): { root: unknown; here: Locator } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const here = new Locator(doc.contents, lineCounter, displayName);
  const errors = [
    ...doc.errors.map((error) => ({
      offset: error.pos[0],
      message: error.message.split("\n")[0]!,
    })),
    ...duplicateKeys(doc).map((offset) => ({ offset, message: "Map keys must be unique" })),
    ...unresolvedAliases(doc),
  ].sort((a, b) => a.offset - b.offset);
  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((error) =>
        here.offsetProblem(error.offset, `YAML syntax error: ${error.message}`)
      ),
    );
  }
  try {
    return { root: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), here };
  } catch (error) {
    // npm:yaml throws a bare ReferenceError ("Excessive alias count indicates a resource
    // exhaustion attack") with no position: point at the first alias.
    if (!(error instanceof ReferenceError)) throw error;
    const problem = here.offsetProblem(
      firstAlias(doc) ?? 0,
      `YAML aliases expand too far (${error.message}): use fewer *aliases`,
    );
    throw new ConfigError(problem);
  }
}

/**
 * The offsets of keys that repeat an earlier key of the same mapping. Scalar keys compare as the
 * object keys `toJS()` makes of them, so `1:` and `"1":` are duplicates too.
 */
function duplicateKeys(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value === null ? "" : String(pair.key.value);
        if (seen.has(key)) offsets.push(pair.key.range?.[0] ?? 0);
        else seen.add(key);
      }
    },
  });
  return offsets;
}

/** Aliases with no anchor before them (toJS would throw without a place). */
function unresolvedAliases(doc: Document.Parsed): { offset: number; message: string }[] {
  const anchors = new Set<string>();
  const found: { offset: number; message: string }[] = [];
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        if (!anchors.has(node.source)) {
          found.push({
            offset: node.range?.[0] ?? 0,
            message: `unresolved alias *${node.source}: set the anchor &${node.source} before it`,
          });
        }
      } else if (node.anchor) {
        anchors.add(node.anchor);
      }
    },
  });
  return found;
}

function firstAlias(doc: Document.Parsed): number | null {
  let offset: number | null = null;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0] ?? null;
      return visit.BREAK;
    },
  });
  return offset;
}
