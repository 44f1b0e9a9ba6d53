#!/usr/bin/env python3
"""Generate a bare git repository with a long history and planted AWS credentials.

    gen_repo.py OUT --commits 20000 [--seed 2] [--keys K] [--branches 6] [--force]

Written with one `git fast-import` stream: a `main` trunk plus feature branches that fork from it,
get their own commits and are merged back with merge commits (the branch slots are then reused), a
few feature branches left unmerged at the end, a `release/1.x` branch and tags. Every commit edits,
adds or deletes files, so files change over time.

Planted credentials (one access key ID + one secret each, built from the seeded PRNG):
- K pairs, each added in a new file by an ordinary commit on main or a feature branch; about three
  quarters are removed later on that line of history (file deleted, or the lines removed);
- one pair introduced only in a merge commit (an "evil merge": in neither parent);
- one pair added on main near the tip, inside the 100-commit range that the benchmark scans.
The manifest `OUT.manifest.json` lists each planted key with its rule, fingerprint, path, line,
introducing commit (and deleting commit), the commit counts and the benchmark range BASE..TIP.
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
       "yaml": ".yaml", "json": ".json", "md": ".md", "env": ".env"}
LANGS = ["py", "js", "go", "rs", "java", "tf", "yaml", "json", "md"]
LANG_W = [20, 20, 12, 8, 12, 6, 10, 4, 8]
VERBS = ["Fix", "Add", "Refactor", "Update", "Remove", "Improve", "Handle", "Document", "Test",
         "Rename", "Simplify", "Bump", "Revert"]
EPOCH = 1577836800  # 2020-01-01T00:00:00Z


class Branch:
    def __init__(self, name: str, files: dict, mark: int | None):
        self.name = name
        self.files = files            # path -> list of lines (lists are never mutated in place)
        self.mark = mark              # fast-import mark of the tip commit
        self.touched: set[str] = set()  # paths changed since fork (feature branches)
        self.commits = 0
        self.pending: list[tuple[int, dict]] = []  # (due at self.commits, planted record)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--keys", type=int, default=None, help="planted pairs in ordinary commits (default: commits/500, at least 4)")
    ap.add_argument("--branches", type=int, default=6, help="feature branch slots")
    ap.add_argument("--initial-files", type=int, default=None, help="files in the first commit (default: min(1500, commits))")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    out = os.path.abspath(args.out)
    manifest_path = out + ".manifest.json"
    gc.prepare_out(out, args.force, manifest_path)
    n_commits = max(args.commits, 50)
    n_keys = args.keys if args.keys is not None else max(4, n_commits // 500)
    init_files = args.initial_files or min(1500, n_commits)
    g = gc.Gen(args.seed)
    rng = g.rng

    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", out], check=True)
    marks_path = out + ".marks"
    fi = subprocess.Popen(["git", "-C", out, "fast-import", "--quiet", "--done", f"--export-marks={marks_path}"],
                          stdin=subprocess.PIPE)
    w = fi.stdin.write

    people = [(f"{g.word().title()} {g.word().title()}{i}", f"dev{i}@{g.word()}.test") for i in range(30)]
    dirs = ["src", "lib", "infra", "web", "docs", "deploy", "tools"]
    while len(dirs) < 80:
        dirs.append(f"{rng.choice(dirs)}/{g.word()}")
    all_paths: list[str] = []
    path_set: set[str] = set()
    frozen: set[str] = set()      # files holding a live planted key: no random edit touches them
    state = {"mark": 0, "ts": EPOCH}
    planted: list[dict] = []

    def new_path(lang: str, hint: str | None = None) -> str:
        while True:
            base = hint or (g.pascal() if lang == "java" else g.snake())
            p = f"{rng.choice(dirs)}/{base}{EXT[lang]}"
            if p not in path_set:
                path_set.add(p)
                all_paths.append(p)
                return p
            hint = None

    def new_content(lang: str) -> list[str]:
        size = int(min(60_000, max(200, rng.lognormvariate(math.log(3000), 0.9))))
        return g.text(lang, size).splitlines(keepends=True)

    def lang_of(path: str) -> str:
        ext = os.path.splitext(path)[1]
        return next(k for k, v in EXT.items() if v == ext)

    def emit(branch: Branch, ops: list[tuple[str, str, list[str] | None]], msg: str,
             parent: int | None, merge: int | None = None) -> int:
        state["mark"] += 1
        state["ts"] += rng.randint(120, 3 * 3600)
        name, email = rng.choice(people)
        body = msg.encode()
        w(f"commit refs/heads/{branch.name}\nmark :{state['mark']}\n"
          f"author {name} <{email}> {state['ts']} +0000\ncommitter {name} <{email}> {state['ts']} +0000\n"
          f"data {len(body)}\n".encode() + body + b"\n")
        if parent is not None:
            w(f"from :{parent}\n".encode())
        if merge is not None:
            w(f"merge :{merge}\n".encode())
        for op, path, lines in ops:
            if op == "M":
                data = "".join(lines).encode()
                w(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
            else:
                w(f"D {path}\n".encode())
        w(b"\n")
        branch.mark = state["mark"]
        return state["mark"]

    def message() -> str:
        s = f"{rng.choice(VERBS)} {g.snake(2).replace('_', ' ')} in {g.word()}"
        if rng.random() < 0.3:
            s += "\n\n" + g.sentence(8, 25)
        return s

    def plant_file(br: Branch, kind: str) -> tuple[str, list[str], dict]:
        lang = rng.choice(["py", "tf", "env", "yaml", "js", "go"])
        kid, sec = g.key_id(), g.secret()
        snippet, col_id, col_sec = g.plant_text(lang, kid, sec)
        if lang == "env":
            p = f"{rng.choice(dirs)}/{g.word()}-{len(planted)}.env"
            path_set.add(p)
            all_paths.append(p)
        else:
            p = new_path(lang, hint=f"{g.snake(1)}_settings_{len(planted)}")
        head = g.text(lang, rng.randint(300, 4000)).splitlines(keepends=True)
        tail = g.text(lang, rng.randint(100, 2000)).splitlines(keepends=True)
        lines = head + snippet.splitlines(keepends=True) + tail
        rec = {"kind": kind, "path": p, "line": len(head) + 1, "branch": br.name,
               "key_id": {"rule_id": gc.RULE_KEY_ID, "column": col_id, "fingerprint": gc.fingerprint(gc.RULE_KEY_ID, kid)},
               "secret": {"rule_id": gc.RULE_SECRET, "column": col_sec, "fingerprint": gc.fingerprint(gc.RULE_SECRET, sec)},
               "snippet_at": len(head), "commit_mark": None, "removed_mark": None, "removed_how": None}
        frozen.add(p)
        planted.append(rec)
        return p, lines, rec

    def edit(lines: list[str], lang: str) -> list[str]:
        new = list(lines)
        k = rng.randint(1, 8)
        pos = rng.randrange(len(new) + 1)
        r = rng.random()
        if r < 0.5 and len(new) > k + 5:
            new[pos:pos + k] = g.lines(lang, k)          # replace
        elif r < 0.85 or len(new) <= k + 5:
            new[pos:pos] = g.lines(lang, k)              # insert
        else:
            del new[pos:pos + k]                         # delete
        return new

    # ---------------------------------------------------------------- the first commit
    main_br = Branch("main", {}, None)
    ops = []
    for _ in range(init_files):
        lang = rng.choices(LANGS, LANG_W)[0]
        p = new_path(lang)
        main_br.files[p] = new_content(lang)
        ops.append(("M", p, main_br.files[p]))
    readme = ["# " + g.sentence(2, 5) + "\n", "\n", g.sentence(10, 30) + "\n"]
    main_br.files["README.md"] = readme
    ops.append(("M", "README.md", readme))
    emit(main_br, ops, "Initial import", None)
    main_br.commits = 1

    # Ordinary-commit plant schedule, the merge plant and the range plant.
    plant_at = set(rng.sample(range(int(n_commits * 0.05), int(n_commits * 0.85)), n_keys))
    merge_plant_after = int(n_commits * 0.5)
    range_plant_after = n_commits - 30
    done = {"merge": False, "range": False}
    slots: list[Branch | None] = [None] * args.branches
    # Each slot reuses its ref name: a new branch in a slot starts again from main's tip.
    slot_names = [f"feature/{g.word()}-{g.word()}" for _ in range(args.branches)]
    release_mark = None
    tags = []
    n_merges = 0

    def ordinary(br: Branch, plant: str | None) -> None:
        ops = []
        # due removals of planted keys on this line of history (the path stays frozen, so no
        # random edit elsewhere ever makes another blob holding the key)
        removed_now, still = [], []
        for due, rec in br.pending:
            if br.commits >= due and rec["path"] in br.files:
                if rng.random() < 0.5:
                    ops.append(("D", rec["path"], None))
                    del br.files[rec["path"]]
                    rec["removed_how"] = "file deleted"
                else:
                    lines = list(br.files[rec["path"]])
                    del lines[rec["snippet_at"]:rec["snippet_at"] + 2]
                    br.files[rec["path"]] = lines
                    ops.append(("M", rec["path"], lines))
                    rec["removed_how"] = "lines removed"
                br.touched.add(rec["path"])
                removed_now.append(rec)
            else:
                still.append((due, rec))
        br.pending = still
        if plant:
            p, lines, rec = plant_file(br, plant)
            br.files[p] = lines
            br.touched.add(p)
            ops.append(("M", p, lines))
            if plant == "commit" and rng.random() < 0.75:
                br.pending.append((br.commits + rng.randint(3, 300), rec))
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
            r = rng.random()
            if r < 0.08:
                lang = rng.choices(LANGS, LANG_W)[0]
                p = new_path(lang)
                br.files[p] = new_content(lang)
                br.touched.add(p)
                ops.append(("M", p, br.files[p]))
                continue
            for _try in range(20):
                p = rng.choice(all_paths)
                if p in br.files and p not in frozen and p != "README.md":
                    break
            else:
                continue
            if r < 0.11 and len(br.files) > init_files // 2:
                del br.files[p]
                ops.append(("D", p, None))
            else:
                br.files[p] = edit(br.files[p], lang_of(p))
                ops.append(("M", p, br.files[p]))
            br.touched.add(p)
        if not ops:  # always change something
            br.files["README.md"] = br.files["README.md"] + [g.sentence() + "\n"]
            ops.append(("M", "README.md", br.files["README.md"]))
            br.touched.add("README.md")
        mark = emit(br, ops, message(), br.mark)
        br.commits += 1
        for rec in removed_now:
            rec["removed_mark"] = mark
        if plant:
            planted[-1]["commit_mark"] = mark

    i = 1
    plants_due = 0
    while i < n_commits:
        remaining = n_commits - i
        if i in plant_at:
            plants_due += 1  # planted by the next ordinary commit (a merge defers it)
        plant = "commit" if plants_due else None
        active = [(k, b) for k, b in enumerate(slots) if b is not None]
        r = rng.random()
        # range plant: first main commit in the last stretch
        want_range = i >= range_plant_after and not done["range"]
        mergeable = [(k, b) for k, b in active if b.commits >= 3]
        if mergeable and r < 0.10 and remaining > 1 and not want_range:
            plant = None
            k, fb = rng.choice(mergeable)
            ops = []
            for p in sorted(fb.touched):
                if p in fb.files:
                    main_br.files[p] = fb.files[p]
                    ops.append(("M", p, fb.files[p]))
                elif p in main_br.files:
                    del main_br.files[p]
                    ops.append(("D", p, None))
            rec = None
            if i >= merge_plant_after and not done["merge"]:
                p, lines, rec = plant_file(main_br, "merge")
                main_br.files[p] = lines
                ops.append(("M", p, lines))
                done["merge"] = True
            mark = emit(main_br, ops, f"Merge branch '{fb.name}'", main_br.mark, merge=fb.mark)
            if rec:
                rec["commit_mark"] = mark
            main_br.commits += 1
            main_br.pending += [(main_br.commits + rng.randint(3, 100), r_) for _, r_ in fb.pending]
            slots[k] = None
            n_merges += 1
            i += 1
            continue
        free = [k for k, b in enumerate(slots) if b is None]
        if free and r < 0.18 and remaining > 10 and not want_range:
            k = rng.choice(free)
            fb = Branch(slot_names[k], dict(main_br.files), main_br.mark)
            slots[k] = fb
            ordinary(fb, plant)
        elif active and r < 0.62 and not want_range:
            ordinary(rng.choice(active)[1], plant)
        else:
            if want_range:
                plant = "range"
                done["range"] = True
            ordinary(main_br, plant)
            if plant == "range":
                plant = None
            if main_br.commits % 2000 == 0:
                tags.append((f"v1.{len(tags)}", main_br.mark))
            if release_mark is None and i >= n_commits // 2:
                release_mark = main_br.mark
        if plant == "commit":
            plants_due -= 1
        i += 1

    for name, mark in tags:
        w(f"reset refs/tags/{name}\nfrom :{mark}\n\n".encode())
    if release_mark:
        w(f"reset refs/heads/release/1.x\nfrom :{release_mark}\n\n".encode())
    w(b"done\n")
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")

    marks = {}
    with open(marks_path) as f:
        for line in f:
            m, sha = line.split()
            marks[int(m[1:])] = sha
    os.remove(marks_path)

    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", out, *a], check=True, capture_output=True, text=True).stdout

    # Benchmark range: the smallest main~k..main with at least 100 commits.
    tip = git("rev-parse", "main").strip()
    fp = git("rev-list", "--first-parent", "main").split()
    base = None
    for k in range(1, len(fp)):
        if int(git("rev-list", "--count", f"{fp[k]}..{tip}")) >= 100:
            base = fp[k]
            break
    in_range = set(git("rev-list", f"{base}..{tip}").split()) if base else set()

    keys = []
    for rec in planted:
        if rec["commit_mark"] is None:
            continue
        sha = marks[rec["commit_mark"]]
        for part in ("key_id", "secret"):
            keys.append({"rule_id": rec[part]["rule_id"], "fingerprint": rec[part]["fingerprint"],
                         "path": rec["path"], "line": rec["line"] + (part == "secret"), "column": rec[part]["column"],
                         "commit": sha, "branch": rec["branch"], "introduced_by": rec["kind"],
                         "removed_commit": marks.get(rec["removed_mark"]) if rec["removed_mark"] else None,
                         "removed_how": rec["removed_how"] if rec["removed_mark"] else None,
                         "in_range": sha in in_range})
    blob_bytes = blobs = 0
    for line in git("cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)").splitlines():
        t, s = line.split()
        if t == "blob":
            blobs += 1
            blob_bytes += int(s)
    n_ids = sum(k["rule_id"] == gc.RULE_KEY_ID for k in keys)
    manifest = {
        "kind": "repo", "generator": "bench/gen_repo.py", "gen_version": gc.GEN_VERSION, "seed": args.seed, "commits_requested": args.commits,
        "path": out, "bare": True,
        "commits": int(git("rev-list", "--all", "--count")), "merges": int(git("rev-list", "--all", "--merges", "--count")),
        "branches": git("for-each-ref", "--format=%(refname:short)", "refs/heads").split(),
        "tags": len(tags), "blobs": blobs, "blob_bytes": blob_bytes,
        "planted": {gc.RULE_KEY_ID: n_ids, gc.RULE_SECRET: sum(k["rule_id"] == gc.RULE_SECRET for k in keys)},
        "planted_removed_later": sum(1 for k in keys if k["removed_commit"] and k["rule_id"] == gc.RULE_KEY_ID),
        "range": {"base": base, "tip": tip, "commits": len(in_range),
                  "planted": {gc.RULE_KEY_ID: sum(k["in_range"] and k["rule_id"] == gc.RULE_KEY_ID for k in keys),
                              gc.RULE_SECRET: sum(k["in_range"] and k["rule_id"] == gc.RULE_SECRET for k in keys)}},
        "keys": keys, "seconds": round(time.time() - t0, 1),
    }
    gc.write_json(manifest_path, manifest)
    print(f"repo {out}: {manifest['commits']} commits ({manifest['merges']} merges), {len(manifest['branches'])} branches, "
          f"{blobs} blobs ({blob_bytes / 1e6:.0f} MB), {n_ids} planted pairs "
          f"({manifest['planted_removed_later']} removed later, 1 only in a merge); range {len(in_range)} commits; "
          f"{time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
