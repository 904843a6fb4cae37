/**
 * Runs `runOnce` in a process of its own, so a test can give it a whole environment (a temp HOME,
 * the stand-in's address) without touching its own: `deno run -A one_shot_driver.ts '<request
 * JSON>'` prints `{"answer": {...}}` or `{"error": {"message", "outcome"}}` as one JSON line.
 */

import { OneShotError, type OneShotRequest, runOnce } from "../../lib/one_shot.ts";

const request = JSON.parse(Deno.args[0] ?? "{}") as OneShotRequest;
try {
  const answer = await runOnce(request);
  // deno-lint-ignore no-console -- the driver's answer is its output
  console.log(JSON.stringify({ answer }));
} catch (error) {
  if (!(error instanceof OneShotError)) throw error;
  // deno-lint-ignore no-console -- the driver's answer is its output
  console.log(JSON.stringify({ error: { message: error.message, outcome: error.outcome } }));
}
