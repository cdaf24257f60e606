// Prints the gzipped size of the production JavaScript and fails above the budget (issue 5: 250 KB).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 250 * 1024;
const assets = join(new URL("..", import.meta.url).pathname, "dist", "assets");

const files = readdirSync(assets).filter((name) => name.endsWith(".js") || name.endsWith(".css"));
let jsTotal = 0;
for (const name of files.sort()) {
  const raw = readFileSync(join(assets, name));
  const gz = gzipSync(raw, { level: 9 }).length;
  if (name.endsWith(".js")) jsTotal += gz;
  console.log(`${name.padEnd(40)} ${(statSync(join(assets, name)).size / 1024).toFixed(1).padStart(8)} KB  gzip ${(gz / 1024).toFixed(1).padStart(7)} KB`);
}
console.log(`total JS gzip: ${(jsTotal / 1024).toFixed(1)} KB (budget ${BUDGET_BYTES / 1024} KB)`);
if (jsTotal > BUDGET_BYTES) {
  console.error("production JS is over budget");
  process.exit(1);
}
