// bench/flags.py's JavaScript side: the cost of one evaluation in flagd's own JS evaluator core.
// Usage: node bench_flagd_core.cjs <input.json>  where input is {document, contexts, iterations, rounds}.
// Prints one JSON line: {costs: {flagKey: CPU microseconds (process.cpuUsage: user + system) per evaluation, the
// best of `rounds` rounds},
// variants: {flagKey: [the variant chosen for each context]}} (bench/flags.py checks the evaluators agree).
const fs = require("node:fs");
const { FlagdCore } = require("@openfeature/flagd-core");

const silent = { error() {}, warn() {}, info() {}, debug() {} };
const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const core = new FlagdCore(undefined, silent);
core.setConfigurations(JSON.stringify(input.document));
const contexts = input.contexts;
const costs = {};
const variants = {};
for (const flagKey of Object.keys(input.document.flags)) {
  variants[flagKey] = contexts.map((context) => {
    const resolution = core.resolveBooleanEvaluation(flagKey, false, context, silent);
    return resolution.variant ?? null;
  });
  for (let i = 0; i < Math.min(2000, input.iterations); i++) {
    core.resolveBooleanEvaluation(flagKey, false, contexts[i % contexts.length], silent); // warm up the JIT
  }
  let best = Infinity;
  for (let round = 0; round < (input.rounds ?? 1); round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < input.iterations; i++) {
      core.resolveBooleanEvaluation(flagKey, false, contexts[i % contexts.length], silent);
    }
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / input.iterations);
  }
  costs[flagKey] = best;
}
process.stdout.write(JSON.stringify({ costs, variants }) + "\n");
