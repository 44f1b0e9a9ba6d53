#!/usr/bin/env python3
"""Generate a large working repository with one small staged change, for the pre-commit benchmark.

    gen_bigrepo.py OUT --files 50000 [--seed 3] [--force]

Two commits (imported with `git fast-import`) put FILES small source files in a normal (non-bare)
repository; the work tree and index are then checked out. Finally ONE file is modified by inserting
a planted access key ID + secret pair and `git add`ed: that is the only staged change. A second
file gets an *unstaged* modification holding another pair, which a pre-commit scan of the staged
changes must not report. The manifest `OUT.manifest.json` says which is which.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ inside the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_common as gc  # noqa: E402

EXT = {"py": ".py", "js": ".js", "go": ".go", "rs": ".rs", "java": ".java", "tf": ".tf",
       "yaml": ".yaml", "json": ".json", "md": ".md"}
LANG_W = [20, 22, 12, 8, 14, 4, 10, 4, 6]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    out = os.path.abspath(args.out)
    manifest_path = out + ".manifest.json"
    gc.prepare_out(out, args.force, manifest_path)
    g = gc.Gen(args.seed, pool_blocks=800)
    rng = g.rng

    def git(*a: str, **kw) -> str:
        return subprocess.run(["git", "-C", out, *a], check=True, capture_output=True, text=True, **kw).stdout

    subprocess.run(["git", "init", "-q", "-b", "main", out], check=True)
    git("config", "user.name", "Bench")
    git("config", "user.email", "bench@keyfence.test")

    dirs = ["src", "lib", "app", "web", "services", "infra", "docs", "tools", "tests"]
    while len(dirs) < max(20, args.files // 40):
        parent = rng.choice(dirs)
        if parent.count("/") < 6:
            dirs.append(f"{parent}/{g.word()}")
    dirs = sorted(set(dirs))
    paths, seen = [], set()
    while len(paths) < args.files:
        lang = rng.choices(list(EXT), LANG_W)[0]
        p = f"{rng.choice(dirs)}/{g.pascal() if lang == 'java' else g.snake()}{EXT[lang]}"
        if p not in seen:
            seen.add(p)
            paths.append(p)
    paths.sort()

    fi = subprocess.Popen(["git", "-C", out, "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE)
    w = fi.stdin.write
    total = 0
    ts = 1700000000
    w(f"commit refs/heads/main\nmark :1\ncommitter Bench <bench@keyfence.test> {ts} +0000\ndata 14\nInitial import\n".encode())
    for p in paths:
        lang = os.path.splitext(p)[1][1:]
        lang = {"": "md"}.get(lang, lang)
        size = int(min(50_000, max(100, rng.lognormvariate(math.log(1500), 0.9))))
        data = g.text(lang, size).encode()
        total += len(data)
        w(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")
    w(b"\n")
    # A second commit that edits a few files, so HEAD has a parent like any real repository.
    w(f"commit refs/heads/main\nmark :2\ncommitter Bench <bench@keyfence.test> {ts + 3600} +0000\ndata 12\nUpdate files\nfrom :1\n".encode())
    for p in rng.sample(paths, min(20, len(paths))):
        lang = os.path.splitext(p)[1][1:]
        data = g.text(lang, rng.randint(500, 4000)).encode()
        w(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")
    w(b"\ndone\n")
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    git("reset", "-q", "--hard", "main")

    # The staged change: one modified file with one planted pair.
    plantable = [p for p in paths if p.endswith((".py", ".tf", ".yaml", ".js", ".go"))]
    staged_path, unstaged_path = rng.sample(plantable, 2)
    keys = []
    for path, staged in ((staged_path, True), (unstaged_path, False)):
        full = os.path.join(out, path)
        with open(full) as f:
            lines = f.read().splitlines(keepends=True)
        lang = os.path.splitext(path)[1][1:]
        kid, sec = g.key_id(), g.secret()
        snippet, col_id, col_sec = g.plant_text(lang, kid, sec)
        at = rng.randrange(len(lines) + 1)
        lines[at:at] = snippet.splitlines(keepends=True)
        with open(full, "w") as f:
            f.write("".join(lines))
        if staged:
            git("add", path)
        for rule, col, val, line in ((gc.RULE_KEY_ID, col_id, kid, at + 1), (gc.RULE_SECRET, col_sec, sec, at + 2)):
            keys.append({"rule_id": rule, "fingerprint": gc.fingerprint(rule, val), "path": path, "line": line,
                         "column": col, "staged": staged})
    staged_names = git("diff", "--cached", "--name-only").split()
    assert staged_names == [staged_path], staged_names

    manifest = {
        "kind": "bigrepo", "generator": "bench/gen_bigrepo.py", "gen_version": gc.GEN_VERSION, "seed": args.seed, "path": out,
        "files": len(paths), "bytes": total, "commits": 2, "staged_path": staged_path,
        "unstaged_path": unstaged_path,
        "planted": {gc.RULE_KEY_ID: 1, gc.RULE_SECRET: 1},  # staged: what a pre-commit scan must report
        "keys": keys, "seconds": round(time.time() - t0, 1),
    }
    gc.write_json(manifest_path, manifest)
    print(f"bigrepo {out}: {len(paths)} files ({total / 1e6:.0f} MB), staged change in {staged_path}, "
          f"unstaged decoy in {unstaged_path}; {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
