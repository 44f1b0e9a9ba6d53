"""Shared pieces of the benchmark input generators (Python 3 stdlib only).

Everything is deterministic for a given seed. Credentials are *built at run time* from the PRNG:
this file holds no scannable key, so the repository stays clean when keyfence scans itself.

Noise content is meant to look like source code and to contain the keywords secret scanners
prefilter on (secret, token, key, password, aws, ...) without containing anything that a correct
AWS rule should report; the only true positives in a generated input are the planted ones listed
in its manifest.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import shutil
import string
import sys
from collections import Counter

# Bump when generated content changes, so bench/run regenerates cached inputs.
GEN_VERSION = 2

BASE32 = string.ascii_uppercase + "234567"
BASE64 = string.ascii_letters + string.digits + "/+"
HEX = "0123456789abcdef"
KEY_ID_PREFIX = "AK" + "IA"  # split so no scanner sees a prefix-plus-body here

# Values keyfence's AWS rules allowlist or that would make a planted key look like a placeholder.
_BAD_ID = re.compile(r"ABCDEFGH|IJKLMNOP|QRSTUVWX|[A-Z2-7]{4}(?:2345|3456|4567)|EXAMPLE")
_BAD_SECRET_WORDS = ("example", "xxxxxxxx", "placeholder", "changeme", "dummy",
                     "abcdefgh", "ijklmnop", "qrstuvwx", "12345678")

RULE_KEY_ID = "aws-access-key-id"
RULE_SECRET = "aws-secret-access-key"

WORDS = """
account action active adapter address admin agent alert alias allow api app archive args array
asset async audit auth author backend backup balance batch bind block body bool bootstrap bucket
buffer build bundle cache call cancel cert channel check child claim client close cloud cluster
code column command commit config connect consumer container content context control cookie core
count counter create cron current cursor customer daemon data database date debug default delay
delete deploy detail device dialog digest direct disk dispatch domain draft driver dump edge email
enable encode endpoint engine entry env error event export extract factory feature fetch field file
filter flag flush format frame gateway global graph group handler hash header health helper host
image import index info init input instance invoice item job json kernel label layer layout lease
level limit link list listener load local lock log lookup loop manager manifest map marker match
member memory merge message meta method metric middleware migrate mode model module monitor mount
name network node notify object offset option order origin output owner package page panel parent
parse partition patch path payload peer pending permission pipeline plan plugin policy pool port
post prefix primary process profile project provider proxy publish query queue quota range rate
reader record redirect refresh region registry release remote render replica report request reset
resource response result retry revision role route rule runner sample scale schedule schema scope
search section sector segment select sender server service session setting shard signal size slot
snapshot source span stage state status storage store stream subject summary sync table tag target
task template tenant test thread ticket timeout timer token topic trace tracker transfer tree
trigger type unit update upload usage user value vault vector version view volume watch webhook
window worker writer zone
""".split()

TEXT_LANGS = ["py", "js", "go", "rs", "java", "tf", "yaml", "json", "md", "env"]
# Languages a planted credential may go into (minified JS, JSON data and binaries get none).
PLANT_LANGS = ["py", "js", "go", "rs", "java", "tf", "yaml", "md", "env"]


def shannon(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def fingerprint(rule_id: str, secret: str) -> str:
    """keyfence's fingerprint (DESIGN.md): hex SHA-256 of rule_id || 0x00 || secret."""
    return hashlib.sha256(rule_id.encode() + b"\x00" + secret.encode()).hexdigest()


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def prepare_out(out: str, force: bool, manifest: str) -> None:
    """Refuses to overwrite a directory this suite did not make, unless --force."""
    if os.path.lexists(out):
        if not force and not os.path.exists(manifest):
            sys.exit(f"{out} exists and has no manifest next to it; pass --force to replace it")
        shutil.rmtree(out) if os.path.isdir(out) and not os.path.islink(out) else os.remove(out)
    if os.path.exists(manifest):
        os.remove(manifest)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)


class Gen:
    """Deterministic content source: identifiers, code blocks per language, credentials."""

    def __init__(self, seed: int, pool_blocks: int = 1200):
        self.rng = random.Random(seed)
        self._seen_keys: set[str] = set()
        self.pools = {lang: [self.block(lang) for _ in range(pool_blocks)] for lang in TEXT_LANGS}
        self.pool_lines = {lang: "".join(p).splitlines(keepends=True) for lang, p in self.pools.items()}

    # ------------------------------------------------------------------ small pieces
    def word(self) -> str:
        return self.rng.choice(WORDS)

    def snake(self, n: int | None = None) -> str:
        return "_".join(self.word() for _ in range(n or self.rng.randint(1, 3)))

    def camel(self, n: int | None = None) -> str:
        ws = [self.word() for _ in range(n or self.rng.randint(1, 3))]
        return ws[0] + "".join(w.title() for w in ws[1:])

    def pascal(self, n: int | None = None) -> str:
        return "".join(self.word().title() for _ in range(n or self.rng.randint(1, 3)))

    def rand(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def uuid(self) -> str:
        h = self.rand(HEX, 32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def sentence(self, lo: int = 6, hi: int = 18) -> str:
        s = " ".join(self.word() for _ in range(self.rng.randint(lo, hi)))
        return s[0].upper() + s[1:] + "."

    def num(self) -> int:
        return self.rng.choice([0, 1, 2, 3, 5, 8, 10, 16, 30, 60, 64, 100, 128, 256, 443, 1000,
                                1024, 3600, 8080, self.rng.randint(0, 99999)])

    # ------------------------------------------------------------------ credentials
    def key_id(self) -> str:
        while True:
            k = KEY_ID_PREFIX + self.rand(BASE32, 16)
            if not _BAD_ID.search(k) and shannon(k) >= 3.4 and k not in self._seen_keys:
                self._seen_keys.add(k)
                return k

    def secret(self) -> str:
        while True:
            s = self.rand(BASE64, 40)
            low = s.lower()
            if (not any(w in low for w in _BAD_SECRET_WORDS) and shannon(s) >= 4.4
                    and not re.fullmatch(r"[0-9a-fA-F]{40}", s) and s not in self._seen_keys):
                self._seen_keys.add(s)
                return s

    def plant_text(self, lang: str, key_id: str, secret: str) -> tuple[str, int, int]:
        """Two lines holding a planted pair; returns (text, column of key id, column of secret)
        (1-based columns; the key id is on the first line, the secret on the second)."""
        prefix = {"js": "// ", "go": "// ", "rs": "// ", "java": "// ", "yaml": "# "}.get(lang, "")
        ind = "    " if lang in ("py", "java", "go", "rs") and self.rng.random() < 0.3 else ""
        l1 = f'{ind}{prefix}aws_access_key_id = "{key_id}"\n'
        l2 = f'{ind}{prefix}aws_secret_access_key = "{secret}"\n'
        return l1 + l2, l1.index(key_id) + 1, l2.index(secret) + 1

    # ------------------------------------------------------------------ noise blocks
    def block(self, lang: str) -> str:
        return getattr(self, "_b_" + lang)()

    def _b_py(self) -> str:
        r = self.rng
        k = r.random()
        f, a, b = self.snake(), self.snake(1), self.snake(1)
        if k < 0.12:
            return f"import {self.word()}\nfrom {self.word()}.{self.word()} import {self.pascal()}, {self.snake()}\n"
        if k < 0.30:
            return (f"class {self.pascal()}({self.pascal(1)}):\n    \"\"\"{self.sentence()}\"\"\"\n\n"
                    f"    def __init__(self, {a}, {b}=None):\n        self.{a} = {a}\n        self.{b} = {b} or {{}}\n"
                    f"        self._{self.snake(1)} = {self.num()}\n\n")
        if k < 0.40:
            env = r.choice(["AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "API_TOKEN", "SECRET_KEY",
                            "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"])
            return (f"def {f}(session):\n    secret = os.environ[\"{env}\"]\n"
                    f"    token = session.get(\"{self.snake(1)}_token\")\n"
                    f"    return {self.pascal()}(secret=secret, token=token, timeout={self.num()})\n\n")
        if k < 0.48:
            return (f"{self.snake().upper()} = {{\n    \"{self.snake(1)}\": {self.num()},\n"
                    f"    \"{self.snake(1)}_key\": \"{self.snake()}\",\n    \"digest\": \"{self.rand(HEX, 40)}\",\n"
                    f"    \"id\": \"{self.uuid()}\",\n}}\n\n")
        lines = [f"def {f}({a}, {b}, *args, **kwargs):\n", f"    \"\"\"{self.sentence()}\"\"\"\n"]
        for _ in range(r.randint(2, 12)):
            x = self.snake(1)
            lines.append(r.choice([
                f"    {x} = {a}.{self.snake()}({b}, {self.num()})\n",
                f"    if {x} is None:\n        raise {self.pascal()}Error(\"{self.sentence(3, 7)}\")\n",
                f"    for {x} in {b}.{self.snake(1)}s:\n        log.debug(\"{self.word()} %s\", {x})\n",
                f"    # {self.sentence()}\n",
                f"    {x} = [{self.snake(1)} for {self.snake(1)} in {a} if {self.snake(1)} > {self.num()}]\n",
            ]))
        lines.append(f"    return {a}\n\n")
        return "".join(lines)

    def _b_js(self) -> str:
        r = self.rng
        k = r.random()
        f, a, b = self.camel(), self.camel(1), self.camel(1)
        if k < 0.15:
            return f"const {{ {self.camel()}, {self.camel()} }} = require('{self.word()}-{self.word()}');\nimport {self.pascal()} from './{self.word()}/{self.word()}';\n"
        if k < 0.25:
            return (f"const {self.camel()}Config = {{\n  apiKey: process.env.{self.snake(2).upper()}_KEY,\n"
                    f"  secretToken: process.env.{self.snake(1).upper()}_SECRET,\n  region: '{r.choice(['us-east-1', 'eu-west-1', 'ap-south-1'])}',\n"
                    f"  integrity: 'sha512-{self.rand(BASE64, 86)}==',\n  retries: {self.num()},\n}};\n\n")
        lines = [f"export async function {f}({a}, {b} = {{}}) {{\n"]
        for _ in range(r.randint(2, 12)):
            x = self.camel(1)
            lines.append(r.choice([
                f"  const {x} = await {a}.{self.camel()}({b}.{self.camel(1)}, {self.num()});\n",
                f"  if (!{x}) {{\n    throw new Error('{self.sentence(3, 7)}');\n  }}\n",
                f"  // {self.sentence()}\n",
                f"  {b}.{self.camel(1)} = {x}?.{self.camel(1)} ?? '{self.word()}';\n",
                f"  for (const {x} of {a}.{self.camel(1)}s) {{ console.log(`{self.word()} ${{{x}}}`); }}\n",
            ]))
        lines.append(f"  return {b};\n}}\n\n")
        return "".join(lines)

    def _b_go(self) -> str:
        r = self.rng
        k = r.random()
        t, a = self.pascal(), self.camel(1)
        if k < 0.2:
            fields = "".join(f"\t{self.pascal(1)} {r.choice(['string', 'int', 'bool', 'time.Duration', '[]byte'])} `json:\"{self.snake(1)}\"`\n"
                             for _ in range(r.randint(2, 8)))
            return f"// {t} {self.sentence()}\ntype {t} struct {{\n{fields}}}\n\n"
        lines = [f"func ({a} *{t}) {self.pascal()}(ctx context.Context, {self.camel(1)} string) error {{\n"]
        for _ in range(r.randint(2, 10)):
            x = self.camel(1)
            lines.append(r.choice([
                f"\t{x}, err := {a}.{self.camel(1)}.{self.pascal()}(ctx, {self.num()})\n\tif err != nil {{\n\t\treturn fmt.Errorf(\"{self.word()}: %w\", err)\n\t}}\n",
                f"\t// {self.sentence()}\n",
                f"\tsecretKey := os.Getenv(\"{self.snake(2).upper()}_SECRET_KEY\")\n",
                f"\tfor _, {x} := range {a}.{self.pascal(1)}s {{\n\t\tlog.Printf(\"{self.word()} %v\", {x})\n\t}}\n",
            ]))
        lines.append("\treturn nil\n}\n\n")
        return "".join(lines)

    def _b_rs(self) -> str:
        r = self.rng
        k = r.random()
        t = self.pascal()
        if k < 0.2:
            fields = "".join(f"    pub {self.snake(1)}: {r.choice(['String', 'u64', 'bool', 'Vec<u8>', 'Option<String>'])},\n"
                             for _ in range(r.randint(2, 8)))
            return f"/// {self.sentence()}\n#[derive(Debug, Clone)]\npub struct {t} {{\n{fields}}}\n\n"
        lines = [f"impl {t} {{\n    pub fn {self.snake()}(&self, {self.snake(1)}: &str) -> Result<{self.pascal(1)}, Error> {{\n"]
        for _ in range(r.randint(2, 10)):
            x = self.snake(1)
            lines.append(r.choice([
                f"        let {x} = self.{self.snake()}.get({self.num()}).ok_or(Error::{self.pascal(1)})?;\n",
                f"        // {self.sentence()}\n",
                f"        let secret_key = std::env::var(\"{self.snake(2).upper()}_SECRET\")?;\n",
                f"        match {x} {{\n            Some(v) => self.{self.snake(1)}(v),\n            None => return Err(Error::{self.pascal(1)}),\n        }}\n",
            ]))
        lines.append(f"        Ok({self.pascal(1)}::default())\n    }}\n}}\n\n")
        return "".join(lines)

    def _b_java(self) -> str:
        r = self.rng
        t = self.pascal()
        lines = [f"    /** {self.sentence()} */\n    @Override\n    public {self.pascal(1)} {self.camel()}({self.pascal(1)} {self.camel(1)}) throws {self.pascal(1)}Exception {{\n"]
        for _ in range(r.randint(2, 10)):
            x = self.camel(1)
            lines.append(r.choice([
                f"        final {self.pascal(1)} {x} = this.{self.camel()}.{self.camel()}({self.num()});\n",
                f"        // {self.sentence()}\n",
                f"        String secretKey = System.getenv(\"{self.snake(2).upper()}_SECRET_KEY\");\n",
                f"        if ({x} == null) {{\n            throw new IllegalStateException(\"{self.sentence(3, 6)}\");\n        }}\n",
                f"        LOG.info(\"{self.word()} {{}}\", {x});\n",
            ]))
        lines.append(f"        return new {t}();\n    }}\n\n")
        return "".join(lines)

    def _b_tf(self) -> str:
        r = self.rng
        k = r.random()
        if k < 0.2:
            return (f"variable \"{self.snake()}\" {{\n  description = \"{self.sentence(3, 8)}\"\n"
                    f"  type        = string\n  default     = \"{self.snake()}\"\n}}\n\n")
        if k < 0.3:
            return ("provider \"aws\" {\n  region     = var.region\n  access_key = var.access_key\n"
                    "  secret_key = var.secret_key\n}\n\n")
        attrs = "".join(f"  {self.snake(1)} = {r.choice([repr(self.snake()).replace(chr(39), chr(34)), str(self.num()), 'true', 'var.' + self.snake()])}\n"
                        for _ in range(r.randint(2, 10)))
        return (f"resource \"aws_{r.choice(['s3_bucket', 'instance', 'iam_role', 'lambda_function', 'security_group'])}\" \"{self.snake()}\" {{\n"
                f"{attrs}  tags = {{\n    Name = \"{self.snake()}\"\n  }}\n}}\n\n")

    def _b_yaml(self) -> str:
        r = self.rng
        if r.random() < 0.3:
            return (f"- name: {self.word()}-{self.word()}\n  image: registry.local/{self.word()}:{r.randint(1, 9)}.{r.randint(0, 30)}\n"
                    f"  env:\n    - name: AWS_SECRET_ACCESS_KEY\n      valueFrom:\n        secretKeyRef:\n          name: {self.word()}-secrets\n          key: aws-secret\n"
                    f"    - name: {self.snake(2).upper()}\n      value: \"{self.word()}\"\n")
        lines = [f"{self.snake()}:\n"]
        for _ in range(r.randint(2, 10)):
            lines.append(f"  {self.snake(1)}: {r.choice([self.word(), str(self.num()), 'true', 'false', self.uuid()])}\n")
        return "".join(lines)

    def _b_json(self) -> str:
        return (f"  {{\"id\": \"{self.uuid()}\", \"name\": \"{self.snake()}\", \"{self.snake(1)}\": {self.num()}, "
                f"\"sha\": \"{self.rand(HEX, 40)}\", \"{self.snake(1)}_token_ttl\": {self.num()}, \"tags\": [\"{self.word()}\", \"{self.word()}\"]}},\n")

    def _b_md(self) -> str:
        r = self.rng
        if r.random() < 0.2:
            return f"## {self.sentence(2, 5)}\n\n```sh\nexport {self.snake(2).upper()}=$({self.word()} {self.word()} --{self.word()})\n```\n\n"
        return "".join(self.sentence() + " " for _ in range(r.randint(2, 8))) + "\n\n"

    def _b_env(self) -> str:
        r = self.rng
        return "".join(f"{self.snake(2).upper()}={r.choice([self.word(), str(self.num()), 'true', 'https://' + self.word() + '.internal/' + self.word()])}\n"
                       for _ in range(r.randint(1, 5)))

    # ------------------------------------------------------------------ whole files
    def text(self, lang: str, size: int) -> str:
        """Roughly `size` bytes of `lang` noise made of whole pool blocks."""
        pool = self.pools[lang]
        avg = max(1, sum(len(b) for b in pool[:64]) // 64)
        parts = self.rng.choices(pool, k=max(1, size // avg))
        if lang == "json":
            return "[\n" + "".join(parts) + "  {}\n]\n"
        if lang == "java":
            return f"package com.{self.word()}.{self.word()};\n\npublic class {self.pascal()} {{\n" + "".join(parts) + "}\n"
        return "".join(parts)

    def lines(self, lang: str, n: int) -> list[str]:
        return self.rng.choices(self.pool_lines[lang], k=n)

    def minified_js(self, size: int) -> str:
        pool = self.pools["js"]
        parts = self.rng.choices(pool, k=max(1, size // 300))
        return ";".join(p.replace("\n", "").replace("  ", "") for p in parts) + "\n"

    def binary(self, size: int) -> bytes:
        head = self.rng.choice([b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04\x14\x00\x08\x00",
                                b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", b"wOF2\x00\x01\x00\x00"])
        return head + b"\x00" * 64 + self.rng.randbytes(max(0, size - len(head) - 64))
