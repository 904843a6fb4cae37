/** The runner's version; `--version` prints it and the config cache is keyed on it. */
export const VERSION = "0.1.0";

/** How an installed copy of the runner was made: `init.sh` stamps it into the copy it installs. */
export interface InstallStamp {
  /** `compiled`: one executable from `deno compile`; `source`: these files, run by `deno run`. */
  form: "compiled" | "source";
  /** The SHA-256 of the source tree's runtime files it was made from (`lib/build.ts`). */
  build: string;
  /** That source tree (the checkout `init.sh` ran from). */
  source: string;
}

/**
 * null in a source tree. scripts/stage.ts replaces the line below, and only it, in the copy
 * init.sh installs: keep it on one line.
 */
export const INSTALLED: InstallStamp | null = null;
