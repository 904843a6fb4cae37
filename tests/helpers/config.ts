/** What the config tests share: the located problems a config text is refused with. */

import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/parse.ts";
import { ConfigError } from "../../lib/errors.ts";

/** Where the parsed text came from, as the tests name it. */
export const source = { displayName: "teleclaude.yml", file: "/project/teleclaude.yml" };

/** The located problems `yaml` is refused with, one a line; fails when it is accepted. */
export function problemsOf(yaml: string): string[] {
  try {
    parseConfig(yaml, source);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split("\n");
    throw error;
  }
  assert.fail("expected a ConfigError");
}
