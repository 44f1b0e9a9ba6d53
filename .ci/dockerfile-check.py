"""Structural check of the Dockerfile (no container engine runs in CI here, and hadolint is not
installable from the registries CI reaches). Parsed with BuildKit's own parser (PyPI `dockerfile`).
Asserts what the image promises: multi-stage, a static musl build, git in the runtime image, a
non-root user, WORKDIR /repo, ENTRYPOINT ["keyfence"], pinned base images, and COPY sources that
exist in the repository and are not excluded by .dockerignore."""
import json
import os
import sys

import dockerfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cmds = dockerfile.parse_file(os.path.join(root, "Dockerfile"))
errors = []


def check(ok, msg):
    if not ok:
        errors.append(msg)


stages = [i for i, c in enumerate(cmds) if c.cmd.lower() == "from"]
check(len(stages) >= 2, "not a multi-stage build")
final = cmds[stages[-1]:]
build = cmds[stages[0]:stages[-1]]
for i in stages:
    image = cmds[i].value[0]
    check(":" in image and not image.endswith(":latest"), f"base image {image} is not pinned to a tag")
check(any("alpine" in cmds[i].value[0] for i in stages[:-1]), "the build stage is not musl (alpine)")


def last(stage, name):
    found = [c for c in stage if c.cmd.lower() == name]
    return found[-1] if found else None


user = last(final, "user")
check(user is not None and user.value[0] not in ("root", "0"), "the runtime image runs as root")
workdir = last(final, "workdir")
check(workdir is not None and workdir.value[0] == "/repo", "WORKDIR is not /repo")
entry = last(final, "entrypoint")
check(entry is not None and entry.json and list(entry.value) == ["keyfence"],
      'ENTRYPOINT is not ["keyfence"] (exec form)')
runs = " ".join(" ".join(c.value) for c in final if c.cmd.lower() == "run")
check("git" in runs.split() or " git " in f" {runs} ", "git is not installed in the runtime image")
check(any(c.cmd.lower() == "copy" and any(f.startswith("--from=") for f in c.flags) for c in final),
      "the runtime image does not copy the binary from the build stage")

ignored = set()
with open(os.path.join(root, ".dockerignore")) as f:
    ignored = {l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")}
for c in build:
    if c.cmd.lower() == "copy" and not c.flags:
        for src in c.value[:-1]:
            path = os.path.join(root, src)
            check(os.path.exists(path), f"COPY source {src} does not exist")
            check(src.split("/")[0] not in ignored, f"COPY source {src} is excluded by .dockerignore")
check("target" in ignored, ".dockerignore does not exclude target/")

if errors:
    print("Dockerfile check failed:\n  " + "\n  ".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"Dockerfile: {len(stages)} stages, user {user.value[0]}, workdir /repo, entrypoint keyfence: ok")
