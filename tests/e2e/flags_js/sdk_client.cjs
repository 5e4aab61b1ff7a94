// The real OpenFeature JavaScript server SDK with its OFREP provider, against `ramp flags serve`.
// One node process per call: every mode evaluates all its keys in one SDK client.
// Usage:
//   node sdk_client.cjs shares <baseUrl> <flagKey> <count>
//     -> {"marks": "0110...", "reasons": {reason: n}, "weights": [w, ...], "unknown": code, "mismatch": code}:
//        the variant of targeting keys user-0..user-<count-1> ("1" = the flag is true), how many evaluations gave
//        each reason, the distinct `rolloutWeight` values of the flag metadata they carried, and the SDK's error
//        codes for an unknown flag and a type mismatch. Any evaluation error fails the run.
//   node sdk_client.cjs errors <baseUrl> <flagKey> [token]
//     -> {"badContext": code, "plain": code}: a non-string targetingKey, and a plain evaluation (with the token as
//        `Authorization: Bearer` when given).
//   node sdk_client.cjs codes <baseUrl> <boolFlagKey>
//     -> {"unknown", "mismatch", "badContext", "emptyKey", "missingKey", "plain"}: each {value, reason, errorCode}
//        of the SDK's details, for an unknown flag, the boolean flag read as a number, a non-string targetingKey,
//        an empty targetingKey, no targetingKey at all, and a plain evaluation.
// $RAMP_OFREP_HEADERS (a JSON object) gives headers sent on every request, e.g. {"Authorization": "Bearer t"}.
const { OpenFeature } = require("@openfeature/server-sdk");
const { OFREPProvider } = require("@openfeature/ofrep-provider");

async function shares(client, flagKey, count) {
  const marks = new Array(count);
  const reasons = {};
  const weights = new Set();
  const batch = 16;
  for (let start = 0; start < count; start += batch) {
    const jobs = [];
    for (let i = start; i < Math.min(start + batch, count); i++) {
      jobs.push(
        client.getBooleanDetails(flagKey, false, { targetingKey: `user-${i}` }).then((details) => {
          if (details.errorCode) throw new Error(`user-${i}: ${details.errorCode} ${details.errorMessage}`);
          marks[i] = details.value ? "1" : "0";
          reasons[details.reason] = (reasons[details.reason] || 0) + 1;
          weights.add((details.flagMetadata || {}).rolloutWeight);
        }),
      );
    }
    await Promise.all(jobs);
  }
  const unknown = await client.getBooleanDetails("no-such-flag", false, { targetingKey: "u" });
  const mismatch = await client.getNumberDetails(flagKey, 0, { targetingKey: "u" });
  return {
    marks: marks.join(""),
    reasons,
    weights: [...weights].sort(),
    unknown: unknown.errorCode,
    mismatch: mismatch.errorCode,
  };
}

async function errors(client, flagKey) {
  const badContext = await client.getBooleanDetails(flagKey, false, { targetingKey: 7 });
  const plain = await client.getBooleanDetails(flagKey, false, { targetingKey: "u" });
  return { badContext: badContext.errorCode || null, plain: plain.errorCode || null };
}

function outcome(details) {
  return { value: details.value, reason: details.reason, errorCode: details.errorCode || null };
}

async function codes(client, flagKey) {
  return {
    unknown: outcome(await client.getBooleanDetails("no-such-flag", false, { targetingKey: "u" })),
    mismatch: outcome(await client.getNumberDetails(flagKey, 7, { targetingKey: "u" })),
    badContext: outcome(await client.getBooleanDetails(flagKey, false, { targetingKey: 7 })),
    emptyKey: outcome(await client.getBooleanDetails(flagKey, false, { targetingKey: "" })),
    missingKey: outcome(await client.getBooleanDetails(flagKey, false, { country: "nl" })),
    plain: outcome(await client.getBooleanDetails(flagKey, false, { targetingKey: "u" })),
  };
}

async function main() {
  const [mode, baseUrl, flagKey, extra] = process.argv.slice(2);
  const options = { baseUrl };
  if (process.env.RAMP_OFREP_HEADERS) options.headers = JSON.parse(process.env.RAMP_OFREP_HEADERS);
  if (mode === "errors" && extra) options.headers = { Authorization: `Bearer ${extra}` };
  await OpenFeature.setProviderAndWait(new OFREPProvider(options));
  const client = OpenFeature.getClient();
  let result;
  if (mode === "shares") result = await shares(client, flagKey, Number(extra));
  else if (mode === "errors") result = await errors(client, flagKey);
  else if (mode === "codes") result = await codes(client, flagKey);
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(JSON.stringify(result) + "\n");
  await OpenFeature.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
