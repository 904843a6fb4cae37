/**
 * A property list read as launchd reads it: by a real plist parser, not a pattern. On macOS that
 * is Apple's own `plutil -convert json`; elsewhere Python's `plistlib` (the format's reference
 * reader outside Apple). Either refuses what launchd would refuse: a bad entity, an unclosed
 * element, a key without a value.
 */

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const PYTHON =
  "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))";

/** Which parser this machine has, or null (the plist tests then skip, saying so). */
export async function plistParser(): Promise<"plutil" | "python3" | null> {
  for (const [name, args] of [["plutil", ["-help"]], ["python3", ["-c", "import plistlib"]]]) {
    try {
      const probe = await new Deno.Command(name as string, {
        args: args as string[],
        stdout: "null",
        stderr: "null",
      }).output();
      // Linux has no plutil; a `plutil` there would not be Apple's.
      if (probe.success && (name !== "plutil" || Deno.build.os === "darwin")) {
        return name as "plutil" | "python3";
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return null;
}

/** Parses a plist document; throws with the parser's message when it is not one. */
export async function parsePlist(xml: string): Promise<PlistValue> {
  const parser = await plistParser();
  if (parser === null) throw new Error("no plist parser here: neither plutil nor python3");
  const file = await Deno.makeTempFile({ suffix: ".plist" });
  try {
    await Deno.writeTextFile(file, xml);
    const output = await new Deno.Command(parser, {
      args: parser === "plutil" ? ["-convert", "json", "-o", "-", file] : ["-c", PYTHON, file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `${parser} does not read the plist: ${new TextDecoder().decode(output.stderr)}`,
      );
    }
    return JSON.parse(new TextDecoder().decode(output.stdout));
  } finally {
    await Deno.remove(file);
  }
}
