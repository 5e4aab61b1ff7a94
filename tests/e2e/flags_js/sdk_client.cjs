// The real OpenFeature JavaScript server SDK with its OFREP provider, against `ramp flags serve`.
// Usage:
//   node sdk_client.cjs shares <baseUrl> <flagKey> <count>
//     -> {"marks": "0110...", "unknown": code, "mismatch": code}: the variant of targeting keys
//        user-0..user-<count-1> ("1" = the flag is true) and the SDK's error codes for an unknown flag and a type
//        mismatch.
//   node sdk_client.cjs errors <baseUrl> <flagKey> [token]
//     -> {"badContext": code, "plain": code}: a non-string targetingKey, and a plain evaluation (with the token as
//        `Authorization: Bearer` when given).
const { OpenFeature } = require("@openfeature/server-sdk");
const { OFREPProvider } = require("@openfeature/ofrep-provider");

async function shares(client, flagKey, count) {
  const marks = new Array(count);
  const batch = 16;
  for (let start = 0; start < count; start += batch) {
    const jobs = [];
    for (let i = start; i < Math.min(start + batch, count); i++) {
      jobs.push(
        client.getBooleanDetails(flagKey, false, { targetingKey: `user-${i}` }).then((details) => {
          if (details.errorCode) throw new Error(`user-${i}: ${details.errorCode} ${details.errorMessage}`);
          marks[i] = details.value ? "1" : "0";
        }),
      );
    }
    await Promise.all(jobs);
  }
  const unknown = await client.getBooleanDetails("no-such-flag", false, { targetingKey: "u" });
  const mismatch = await client.getNumberDetails(flagKey, 0, { targetingKey: "u" });
  return { marks: marks.join(""), unknown: unknown.errorCode, mismatch: mismatch.errorCode };
}

async function errors(client, flagKey) {
  const badContext = await client.getBooleanDetails(flagKey, false, { targetingKey: 7 });
  const plain = await client.getBooleanDetails(flagKey, false, { targetingKey: "u" });
  return { badContext: badContext.errorCode || null, plain: plain.errorCode || null };
}

async function main() {
  const [mode, baseUrl, flagKey, extra] = process.argv.slice(2);
  const options = { baseUrl };
  if (mode === "errors" && extra) options.headers = { Authorization: `Bearer ${extra}` };
  await OpenFeature.setProviderAndWait(new OFREPProvider(options));
  const client = OpenFeature.getClient();
  const result = mode === "shares" ? await shares(client, flagKey, Number(extra)) : await errors(client, flagKey);
  process.stdout.write(JSON.stringify(result) + "\n");
  await OpenFeature.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
