#!/usr/bin/env python3
"""The code's shape, as issue 13 set it: no file under src/ or tests/ over 600 lines, no function
there over 80 lines, and no import cycle between modules of src/ (test modules aside; a
parent and its own child modules may name each other). Exits 1 with the offenders."""
import os
import re
import sys

FILE_LIMIT, FN_LIMIT = 600, 80

def blank_literals(t):
    out, i, n = [], 0, len(t)
    while i < n:
        c = t[i]
        if t.startswith("//", i):
            j = t.find("\n", i); j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif t.startswith("/*", i):
            j = t.find("*/", i + 2); j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", t[i:j])); i = j
        elif c == "r" and re.match(r'r#*"', t[i:i+10]) and (i == 0 or not (t[i-1].isalnum() or t[i-1] == "_")):
            m = re.match(r'r(#*)"', t[i:]); end = '"' + m.group(1)
            j = t.find(end, i + len(m.group(0))); j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", t[i:j])); i = j
        elif c == '"' or (c == "b" and t.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and t[j] != '"':
                j += 2 if t[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", t[i:j])); i = j
        elif c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|[^\\'])'", t[i:])
            if m:
                out.append(" " * len(m.group(0))); i += len(m.group(0))
            else:
                out.append(c); i += 1
        else:
            out.append(c); i += 1
    return "".join(out)

fn_re = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)", re.M)

def functions(path):
    t = blank_literals(open(path).read())
    lines = t.split("\n")
    res = []
    for i, line in enumerate(lines):
        m = fn_re.match(line)
        if not m:
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            depth += lines[j].count("{") - lines[j].count("}")
            started = started or "{" in lines[j]
            if started and depth <= 0:
                break
            if not started and lines[j].rstrip().endswith(";"):
                break
        res.append((j - i + 1, m.group(1)))
    return res


def rust_files(root):
    for d, _, fs in os.walk(root):
        for f in sorted(fs):
            if f.endswith(".rs"):
                yield os.path.join(d, f)


def modname(root, p):
    parts = os.path.relpath(p, root)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def cycles(root):
    texts = {modname(root, p): blank_literals(open(p).read()) for p in rust_files(root)}
    edges = {m: set() for m in texts}
    for src, t in texts.items():
        body = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", t, flags=re.S)
        for ref in re.findall(r"crate::((?:\w+::)*\w+)", body):
            parts = ref.split("::")
            for k in range(len(parts), 0, -1):
                cand = "::".join(parts[:k])
                if cand in texts:
                    if cand != src and not src.startswith(cand + "::") and not cand.startswith(src + "::"):
                        edges[src].add(cand)
                    break
    index, low, on, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def main():
    bad = []
    for root in ("src", "tests"):
        for p in rust_files(root):
            n = len(open(p).read().splitlines())
            if n > FILE_LIMIT:
                bad.append(f"{p}: {n} lines (limit {FILE_LIMIT})")
    for p in [*rust_files("src"), *rust_files("tests")]:
        for n, name in functions(p):
            if n > FN_LIMIT:
                bad.append(f"{p}: fn {name} is {n} lines (limit {FN_LIMIT})")
    for comp in cycles("src"):
        bad.append("import cycle: " + " <-> ".join(comp))
    for b in bad:
        print(b)
    print(f"code shape: {'ok' if not bad else str(len(bad)) + ' problem(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
