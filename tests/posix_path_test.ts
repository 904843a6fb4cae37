import assert from "node:assert/strict";
import * as node from "node:path";
import {
  basename,
  dirname,
  extname,
  isAbsolute,
  join,
  normalize,
  resolve,
} from "../lib/posix_path.ts";

const SAMPLES = [
  "/a/b/c.sh",
  "/a/b/",
  "a/b",
  "/",
  "a",
  "./a/../b",
  "/a//b/./c/..",
  "../x",
  "/a/.hidden",
  "x.tar.gz",
  "",
];

Deno.test("lib/posix_path.ts agrees with node:path on POSIX paths", () => {
  for (const path of SAMPLES) {
    assert.equal(dirname(path || "."), node.dirname(path || "."), `dirname ${path}`);
    assert.equal(basename(path), node.basename(path), `basename ${path}`);
    // node says ".." has the extension "."; no job file is called "..".
    if (!path.endsWith("..")) assert.equal(extname(path), node.extname(path), `extname ${path}`);
    assert.equal(isAbsolute(path), node.isAbsolute(path), `isAbsolute ${path}`);
    if (path) {
      assert.equal(
        normalize(path),
        node.normalize(path).replace(/(.)\/$/, "$1"),
        `normalize ${path}`,
      );
    }
    assert.equal(
      join("/root", path),
      node.join("/root", path).replace(/(.)\/$/, "$1"),
      `join ${path}`,
    );
    assert.equal(resolve("/base/dir", path), node.resolve("/base/dir", path), `resolve ${path}`);
  }
  assert.equal(basename("/a/b/rotate.sh", ".sh"), "rotate");
  assert.equal(resolve("rel"), node.resolve("rel"));
});
