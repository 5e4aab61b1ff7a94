// bench/flags.py's JavaScript side: the cost of one evaluation in flagd's own JS evaluator core.
// Usage: node bench_flagd_core.cjs <input.json>  where input is {document, contexts, iterations}.
// Prints one JSON line: {flagKey: microseconds per evaluation}.
const fs = require("node:fs");
const { FlagdCore } = require("@openfeature/flagd-core");

const silent = { error() {}, warn() {}, info() {}, debug() {} };
const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const core = new FlagdCore(undefined, silent);
core.setConfigurations(JSON.stringify(input.document));
const result = {};
for (const flagKey of Object.keys(input.document.flags)) {
  const contexts = input.contexts;
  for (let i = 0; i < Math.min(2000, input.iterations); i++) {
    core.resolveBooleanEvaluation(flagKey, false, contexts[i % contexts.length], silent); // warm up the JIT
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < input.iterations; i++) {
    core.resolveBooleanEvaluation(flagKey, false, contexts[i % contexts.length], silent);
  }
  result[flagKey] = Number(process.hrtime.bigint() - start) / 1000 / input.iterations;
}
process.stdout.write(JSON.stringify(result) + "\n");
