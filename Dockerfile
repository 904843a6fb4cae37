# The image `teleclaude-cron --export kubernetes` names (README, "Kubernetes"): the compiled
# runner beside node and the agent CLIs at the versions it was verified with
# (tests/agents/versions.json; tests/export/dockerfile_test.ts keeps them equal). Not built in CI.
#
#   docker build -t teleclaude-cron:0.1.0 .
#
# node 22: claude 2.1.332 needs node >= 22 (gemini 0.61.0 >= 20, codex 0.169.0 >= 16).

FROM node:22-bookworm-slim AS build
# Deno from npm, as scripts/bootstrap.sh installs it.
RUN npm install --global --no-fund --no-audit deno@2.9.6
WORKDIR /src
COPY deno.json deno.lock deno.runtime.json deno.runtime.lock main.ts ./
COPY lib lib
COPY scripts scripts
# The permission flags baked into the binary name $HOME/.teleclaude, so it is compiled with the
# HOME it has in the image. deno compile downloads its runtime base (denort) here.
RUN HOME=/home/node sh scripts/compile.sh /out/teleclaude-cron

FROM node:22-bookworm-slim
# tini: the runner is the container's first process and must not be left with the agents'
# orphans; procps: the runner asks ps whether a process group still lives; tzdata: the runner
# finds the zone TZ names in /usr/share/zoneinfo; ca-certificates: the agents' HTTPS.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates procps tini tzdata \
 && rm -rf /var/lib/apt/lists/*
ARG CLAUDE_VERSION=2.1.332
ARG CODEX_VERSION=0.169.0
ARG GEMINI_VERSION=0.61.0
RUN npm install --global --no-fund --no-audit \
      "@anthropic-ai/claude-code@${CLAUDE_VERSION}" \
      "@openai/codex@${CODEX_VERSION}" \
      "@google/gemini-cli@${GEMINI_VERSION}" \
 && npm cache clean --force
COPY --from=build /out/teleclaude-cron /usr/local/bin/teleclaude-cron
# claude refuses --dangerously-skip-permissions as root. The node image's user, by number, so
# that the CronJobs' runAsNonRoot can check it.
USER 1000:1000
ENV HOME=/home/node
WORKDIR /home/node
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/teleclaude-cron"]
CMD ["--help"]
