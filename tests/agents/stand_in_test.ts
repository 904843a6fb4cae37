/**
 * The stand-in model server on its own, without any agent CLI: routing by path, what it records
 * and counts, and a shutdown that ends hanging and stalled answers.
 */

import assert from "node:assert/strict";
import { startModelServer, unreachableUrl } from "./stand_in/server.ts";

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "sk-ant-api03-secret-key" },
    body: JSON.stringify(body),
  });
}

const CLAUDE_TURN = {
  model: "claude-haiku-5-5",
  stream: true,
  messages: [{ role: "user", content: "hi" }],
};

Deno.test("the stand-in routes each API by path and counts model calls per API", async () => {
  await using server = startModelServer();
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const claude = await post(`${server.url}/v1/messages?beta=true`, CLAUDE_TURN);
  assert.match(await claude.text(), /"name":"Bash"/);
  const codex = await post(`${server.url}/v1/responses`, {
    input: [],
    tools: [{ name: "exec_command" }],
  });
  assert.match(await codex.text(), /exec_command/);
  const gemini = await post(
    `${server.url}/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse`,
    { contents: [{ role: "user", parts: [{ text: "hi" }] }] },
  );
  assert.match(await gemini.text(), /run_shell_command/);
  const unknown = await fetch(`${server.url}/nowhere`);
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();

  assert.deepEqual(server.requests.map((r) => [r.api, r.modelCall, r.callIndex, r.status]), [
    ["anthropic", true, 0, 200],
    ["openai", true, 0, 200],
    ["gemini", true, 0, 200],
    [null, false, null, 404],
  ]);
  const [first] = server.modelRequests("anthropic");
  assert.equal(first?.query, "?beta=true");
  assert.equal(first?.headers["x-api-key"], "sk-ant-api03…", "secrets are masked");
  assert.deepEqual(first?.body, CLAUDE_TURN);
  assert.equal(server.callCount("anthropic"), 1);
});

Deno.test("the stand-in flags gemini's side calls and does not count them", async () => {
  await using server = startModelServer();
  const side = await post(`${server.url}/v1beta/models/gemini-3.5-flash-lite:generateContent`, {
    contents: [{ role: "user", parts: [{ text: "route this" }] }],
    generationConfig: {
      responseJsonSchema: { type: "object", properties: { score: { type: "integer" } } },
    },
  });
  assert.match(await side.text(), /score/);
  assert.equal(server.requests[0]?.modelCall, false);
  assert.equal(server.callCount("gemini"), 0);
});

Deno.test("setting the scenario restarts the call counts, so 'fail twice, then succeed' replays", async () => {
  await using server = startModelServer({ scenario: "transient_then_success" });
  const statuses = async () => {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await post(`${server.url}/v1/messages`, CLAUDE_TURN);
      await response.body?.cancel();
      codes.push(response.status);
    }
    return codes;
  };
  assert.deepEqual(await statuses(), [529, 529, 200]);
  server.scenario = "transient_then_success";
  assert.deepEqual(await statuses(), [529, 529, 200]);
  assert.equal(server.requests.length, 6);
});

const CODEX_TURN = { input: [], tools: [{ name: "exec_command" }] };
const GEMINI_TURN = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };
const GEMINI_PATH = "/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent";

Deno.test("an outage answers the first N model calls, then the scenario plays from its start", async () => {
  await using server = startModelServer({ outage: { status: 529, calls: 2 } });
  const answers: [number, string][] = [];
  for (let i = 0; i < 4; i++) {
    const response = await post(`${server.url}/v1/responses`, CODEX_TURN);
    answers.push([response.status, await response.text()]);
  }
  assert.deepEqual(answers.map(([status]) => status), [529, 529, 200, 200]);
  // success_tool's first step (a shell call), not its second: the outage's calls do not count.
  assert.match(answers[2]![1], /exec_command/);
  assert.match(answers[3]![1], /All done\./);
  assert.deepEqual(server.requests.map((r) => [r.callIndex, r.scenario]), [
    [0, "outage 529"],
    [1, "outage 529"],
    [2, "success_tool"],
    [3, "success_tool"],
  ]);
  server.outage = { status: 503 };
  for (let i = 0; i < 3; i++) {
    const response = await post(`${server.url}/v1/responses`, CODEX_TURN);
    await response.body?.cancel();
    assert.equal(response.status, 503, "without `calls`, every call");
  }
});

Deno.test("each API words an outage as its service does", async () => {
  await using server = startModelServer();
  const answer = async (status: 500 | 502 | 503 | 504 | 529, path: string, body: unknown) => {
    server.outage = { status };
    const response = await post(`${server.url}${path}`, body);
    return [response.status, response.headers.get("content-type"), await response.text()];
  };
  const claude = (status: 500 | 502 | 503 | 504 | 529) =>
    answer(status, "/v1/messages", CLAUDE_TURN);
  assert.deepEqual((await claude(529)).slice(0, 2), [529, "application/json"]);
  assert.match(String((await claude(529))[2]), /"type":"overloaded_error","message":"Overloaded"/);
  assert.match(String((await claude(500))[2]), /"type":"api_error"/);
  assert.match(String((await claude(504))[2]), /"type":"timeout_error"/);
  // The API documents no 502/503 of its own: those are a gateway's page.
  assert.deepEqual((await claude(503)).slice(0, 2), [503, "text/html"]);
  const codex = await answer(503, "/v1/responses", CODEX_TURN);
  assert.match(String(codex[2]), /The server is overloaded or not ready yet\./);
  const gemini = await answer(503, GEMINI_PATH, GEMINI_TURN);
  assert.match(String(gemini[2]), /"status":"UNAVAILABLE"/);
  assert.match(String((await answer(502, GEMINI_PATH, GEMINI_TURN))[2]), /502 Bad Gateway/);
});

Deno.test("unreachableUrl() names a port on 127.0.0.1 that refuses connections", async () => {
  const url = unreachableUrl();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const refused = await fetch(`${url}/v1/messages`).then(() => null, (error: Error) => error);
  assert.match(String(refused?.cause), /Connection refused/);
});

Deno.test("the stand-in records what it answered: when, its headers, a JSON body", async () => {
  await using server = startModelServer({ scenario: "usage_limit" });
  const before = Date.now();
  const limited = await post(`${server.url}/v1/responses`, { input: [] });
  const sent = await limited.json();
  server.scenario = "success_tool";
  const streamed = await post(`${server.url}/v1/responses`, { input: [] });
  await streamed.text();
  const [limit, stream] = server.requests;
  assert.ok(limit?.answer && limit.answer.at >= before && limit.answer.at <= Date.now());
  assert.ok(limit.receivedAt >= before && limit.receivedAt <= limit.answer.at);
  assert.deepEqual(limit.answer.body, sent, "the body as the client got it");
  assert.equal(limit.answer.headers["x-codex-primary-reset-at"], String(sent.error.resets_at));
  assert.equal(stream?.answer?.headers["content-type"], "text/event-stream");
  assert.equal(stream?.answer?.body, null, "a stream is not read");
});

Deno.test("disposing the stand-in ends hanging and stalled answers", async (t) => {
  for (
    const [scenario, path] of [
      ["hang", "/v1/messages"],
      ["hang", "/v1/responses"],
      ["hang", "/v1beta/models/m:streamGenerateContent"],
      ["stall", "/v1/messages"],
      ["stall", "/v1/responses"],
      ["stall", "/v1beta/models/m:streamGenerateContent"],
    ] as const
  ) {
    await t.step(`${scenario} on ${path}`, async () => {
      const server = startModelServer({ scenario });
      const pending = post(`${server.url}${path}`, { stream: true, messages: [], contents: [] })
        .then((response) => response.text()).catch((error: Error) => error.name);
      await waitUntil(() => server.requests.length === 1);
      const started = performance.now();
      await server[Symbol.asyncDispose]();
      await pending;
      assert.ok(performance.now() - started < 2000, "shutdown did not wait for the answer");
    });
  }
});

async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("timed out waiting for the request");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
