#!/usr/bin/env python3
"""Generate a source-like directory tree of about N MB with planted AWS credentials.

    gen_tree.py OUT --size-mb 1024 [--seed 1] [--keys K] [--force]

The tree holds nested directories of .py/.js/.go/.rs/.java/.tf/.yaml/.json/.md/.env files of
realistic sizes, some minified JavaScript (one very long line each), some JSON data files and a few
binary files. K text files each get one planted pair: an access key ID (`AKIA` + 16 of [A-Z2-7]) on
one line and a 40-character secret right below it in `aws_secret_access_key = "..."`. Keys come
from the seeded PRNG at run time. The manifest `OUT.manifest.json` (next to the tree, not inside it)
lists the counts and every planted key's path, line, column and keyfence fingerprint.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ inside the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_common as gc  # noqa: E402

EXT = {"py": ".py", "js": ".js", "go": ".go", "rs": ".rs", "java": ".java", "tf": ".tf",
       "yaml": ".yaml", "json": ".json", "md": ".md", "env": ".env"}
# Share of text files per language (by count).
LANG_WEIGHTS = {"py": 18, "js": 18, "go": 12, "rs": 8, "java": 12, "tf": 6, "yaml": 10,
                "json": 6, "md": 8, "env": 2}
TOP = ["services", "libs", "infra", "web", "tools", "docs", "deploy", "internal", "pkg", "scripts"]


def make_dirs(g: gc.Gen, n: int) -> list[str]:
    dirs = list(TOP)
    while len(dirs) < n:
        parent = g.rng.choice(dirs)
        if parent.count("/") >= 6:
            continue
        dirs.append(f"{parent}/{g.rng.choice([g.word(), g.snake(2), g.word() + '-' + g.word()])}")
    return sorted(set(dirs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=float, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keys", type=int, default=None, help="planted pairs (default: size/10, at least 5)")
    ap.add_argument("--force", action="store_true", help="replace OUT even if it was not made by this script")
    args = ap.parse_args()

    t0 = time.time()
    out = os.path.abspath(args.out)
    manifest_path = out + ".manifest.json"
    gc.prepare_out(out, args.force, manifest_path)
    target = int(args.size_mb * 1024 * 1024)
    n_keys = args.keys if args.keys is not None else max(5, round(args.size_mb / 10))
    g = gc.Gen(args.seed)
    rng = g.rng

    # Budget: ~3% minified JS, ~3% JSON data, ~1% binary, the rest ordinary text files.
    special = []  # (kind, size)
    for kind, share, lo, hi in (("minjs", 0.03, 200_000, 2_000_000), ("jsondata", 0.03, 500_000, 5_000_000),
                                ("bin", 0.01, 20_000, 2_000_000)):
        budget = int(target * share)
        while budget > lo:
            s = min(budget, rng.randint(lo, hi))
            special.append((kind, s))
            budget -= s
    rest = target - sum(s for _, s in special)
    sizes = []
    while rest > 0:
        s = int(min(400_000, max(150, rng.lognormvariate(math.log(7000), 1.0))))
        sizes.append(min(s, max(rest, 150)))
        rest -= s
    langs = rng.choices(list(LANG_WEIGHTS), weights=list(LANG_WEIGHTS.values()), k=len(sizes))
    files = [(lang, s) for lang, s in zip(langs, sizes)] + special
    rng.shuffle(files)

    # Which files get a planted pair: distinct text files of plantable languages, >= 300 bytes.
    candidates = [i for i, (lang, s) in enumerate(files) if lang in gc.PLANT_LANGS and s >= 300]
    if len(candidates) < n_keys:
        sys.exit(f"only {len(candidates)} files can take a planted key; lower --keys or raise --size-mb")
    planted_idx = set(rng.sample(candidates, n_keys))

    dirs = make_dirs(g, max(len(TOP), len(files) // 22))
    used: set[str] = set()
    keys = []
    n_text = n_bin = total = 0
    for i, (kind, size) in enumerate(files):
        d = rng.choice(dirs)
        if kind == "env":
            base = rng.choice([".env", ".env.local", ".env.production", "settings.env"])
        elif kind == "minjs":
            base = f"{g.word()}.{g.rand(gc.HEX, 8)}.min.js"
        elif kind == "jsondata":
            base = f"{g.snake(2)}.data.json"
        elif kind == "bin":
            base = g.snake(2) + rng.choice([".png", ".jar", ".so", ".woff2", ".bin"])
        else:
            base = (g.pascal() if kind == "java" else g.snake()) + EXT[kind]
        rel = f"{d}/{base}"
        n = 1
        stem, ext = os.path.splitext(base)
        while rel in used:
            rel = f"{d}/{stem}{n}{ext}"
            n += 1
        used.add(rel)
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if kind == "bin":
            data = g.binary(size)
            n_bin += 1
        else:
            if kind == "minjs":
                text = g.minified_js(size)
            elif kind == "jsondata":
                text = g.text("json", size)
            else:
                text = g.text(kind, size)
            if i in planted_idx:
                kid, sec = g.key_id(), g.secret()
                snippet, col_id, col_sec = g.plant_text(kind, kid, sec)
                # Insert at a line boundary somewhere in the file.
                cut = text.find("\n", rng.randrange(len(text))) + 1 if "\n" in text else 0
                if cut <= 0:
                    cut = len(text)
                line = text.count("\n", 0, cut) + 1
                text = text[:cut] + snippet + text[cut:]
                keys.append({"path": rel, "line": line, "column": col_id, "rule_id": gc.RULE_KEY_ID,
                             "fingerprint": gc.fingerprint(gc.RULE_KEY_ID, kid)})
                keys.append({"path": rel, "line": line + 1, "column": col_sec, "rule_id": gc.RULE_SECRET,
                             "fingerprint": gc.fingerprint(gc.RULE_SECRET, sec)})
            data = text.encode()
            n_text += 1
        with open(path, "wb") as f:
            f.write(data)
        total += len(data)

    manifest = {
        "kind": "tree", "generator": "bench/gen_tree.py", "gen_version": gc.GEN_VERSION, "seed": args.seed, "size_mb": args.size_mb,
        "keys_requested": n_keys, "path": out, "bytes": total, "files": len(files),
        "text_files": n_text, "binary_files": n_bin, "dirs": len(dirs),
        "planted": {gc.RULE_KEY_ID: n_keys, gc.RULE_SECRET: n_keys},
        "keys": keys, "seconds": round(time.time() - t0, 1),
    }
    gc.write_json(manifest_path, manifest)
    print(f"tree {out}: {len(files)} files, {total / 1e6:.1f} MB, {n_keys} planted pairs, "
          f"{time.time() - t0:.1f}s; manifest {manifest_path}")


if __name__ == "__main__":
    main()
