// The real OpenFeature JavaScript server SDK with its OFREP provider, against `ramp flags serve`.
// Usage: node sdk_client.cjs <baseUrl> <flagKey> <count>
// Prints one JSON line: the variant of targeting keys user-0..user-<count-1> ("1" = new, "0" = other) and the
// error codes the SDK reports for an unknown flag and for a type mismatch.
const { OpenFeature } = require("@openfeature/server-sdk");
const { OFREPProvider } = require("@openfeature/ofrep-provider");

async function main() {
  const [baseUrl, flagKey, countText] = process.argv.slice(2);
  const count = Number(countText);
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl }));
  const client = OpenFeature.getClient();
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
  process.stdout.write(
    JSON.stringify({ marks: marks.join(""), unknown: unknown.errorCode, mismatch: mismatch.errorCode }) + "\n",
  );
  await OpenFeature.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
