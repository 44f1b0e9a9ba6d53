#!/usr/bin/env python3
"""Which commits a GitHub Actions run must check, from the event that started it.

Reads GITHUB_EVENT_NAME and GITHUB_EVENT_PATH (the event payload) and prints the revisions for
`keyfence history --added-only` on one line (`A..B`, or `B ^other ^refs`), or nothing when there
is nothing to check (a deleted branch). With GITHUB_OUTPUT set it also writes `revs=` there.

- push: `before..after`;
- new branch (before is all zeros): `after` minus every other remote branch, so only the commits
  the repository did not already have are checked;
- force push: `before..after` when the old tip is still known here, else as a new branch;
- pull_request / pull_request_target (also from a fork): `base.sha..head.sha`, never the branch
  names (a fork's branch does not exist in this repository).
Needs the history: actions/checkout with `fetch-depth: 0`.
"""
import json
import os
import subprocess
import sys

ZERO = "0" * 40


def git(*args, check=True):
    r = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit(f"keyfence range: git {' '.join(args)} failed: {r.stderr.strip()}")
    return r


def have(rev):
    return git("cat-file", "-e", f"{rev}^{{commit}}", check=False).returncode == 0


def need(rev, what):
    if not have(rev):
        raise SystemExit(
            f"keyfence range: {what} {rev} is not in this clone; check out with fetch-depth: 0"
        )


def new_branch(after, ref):
    """`after` minus everything the remote already had on other branches."""
    own = "refs/remotes/origin/" + ref.removeprefix("refs/heads/")
    others = [
        r
        for r in git("for-each-ref", "--format=%(refname)", "refs/remotes/origin").stdout.split()
        if r != own and r != "refs/remotes/origin/HEAD"
    ]
    return [after] + [f"^{r}" for r in others]


def revisions(event, payload):
    if event == "push":
        if payload.get("deleted"):
            return []
        before, after = payload["before"], payload["after"]
        need(after, "the pushed commit")
        if before == ZERO:
            return new_branch(after, payload["ref"])
        if payload.get("forced") and not have(before):
            return new_branch(after, payload["ref"])
        need(before, "the previous tip")
        return [f"{before}..{after}"]
    if event in ("pull_request", "pull_request_target"):
        pr = payload["pull_request"]
        base, head = pr["base"]["sha"], pr["head"]["sha"]
        if not have(head):
            # A fork's head is only reachable through the pull request's ref.
            git("fetch", "--no-tags", "origin", f"+refs/pull/{pr['number']}/head", check=False)
        need(base, "the pull request's base")
        need(head, "the pull request's head")
        return [f"{base}..{head}"]
    raise SystemExit(
        f"keyfence range: event {event!r} is not supported (push, pull_request); "
        "give the range yourself with the `range` input"
    )


def main():
    event = os.environ.get("GITHUB_EVENT_NAME", "")
    with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as f:
        payload = json.load(f)
    revs = revisions(event, payload)
    line = " ".join(revs)
    print(line)
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(f"revs={line}\n")


if __name__ == "__main__":
    main()
