// Real-browser test of the demo page in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core), plus the in-browser timing of top-10 over 10 000 × 64.
//
//   node bindings/wasm/test/browser.mjs        (after bash bindings/wasm/build.sh)
//
// Serves bindings/wasm/ from 127.0.0.1 (demo/, pkg/ and the model file the build trained with
// native rapport), opens the demo, and checks what the page shows: a greeting with the chosen
// first name, five recommendations each with a reason, and a changed list after "Simulate
// purchase" (the bought product leaves the list). Saves screenshots and the timing to
// bindings/wasm/test-output/. Exits non-zero on any failure, including page errors.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "test-output");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const customer = "12415";
const firstName = "Ada";

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".rapport": "application/octet-stream",
  ".ts": "text/plain",
};

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`  ok - ${message}`);
}

function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = resolve(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, "index.html");
      const body = readFileSync(file);
      res.writeHead(200, {
        "content-type": types[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

for (const f of ["pkg/rapport_wasm.js", "pkg/rapport_wasm_bg.wasm", "demo/sample.rapport"]) {
  try {
    statSync(join(root, f));
  } catch {
    console.error(`missing bindings/wasm/${f}: run bash bindings/wasm/build.sh first`);
    process.exit(1);
  }
}
mkdirSync(out, { recursive: true });

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const profile = mkdtempSync(join(tmpdir(), "rapport-chromium-"));
const problems = [];
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 900, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));

  console.log(`demo: ${base}/demo/?customer=${customer}&name=${firstName}`);
  await page.goto(`${base}/demo/?customer=${customer}&name=${firstName}`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll("#recs li").length > 0);

  const status = await page.textContent("#status");
  check(/616 customers, 3030 products/.test(status), `model loaded in the page (${status.trim()})`);
  const greeting = (await page.textContent("#greeting")).trim();
  check(greeting.includes(firstName), `greeting names the customer: "${greeting}"`);

  const rows = async () =>
    page.$$eval("#recs li", (lis) =>
      lis.map((li) => ({
        product: li.dataset.product,
        name: li.querySelector(".name").textContent,
        score: Number(li.querySelector(".score").textContent),
        reason: li.querySelector(".reason").textContent,
      })),
    );
  const before = await rows();
  check(before.length === 5, `5 recommendation rows (${before.map((r) => r.product).join(", ")})`);
  check(
    before.every((r) => r.name && r.reason.startsWith("because you bought ")),
    "every row has a name and a reason (\"because you bought …\")",
  );
  check(
    before.every((r, i) => i === 0 || r.score <= before[i - 1].score),
    "rows are ranked by score",
  );
  check((await page.getAttribute("#recs", "data-fallback")) === "false", "not the popularity fallback");
  await page.screenshot({ path: join(out, "demo-before.png"), fullPage: true });

  const version = await page.getAttribute("#recs", "data-version");
  await page.click("#buy");
  await page.waitForFunction(
    (v) => document.querySelector("#recs").dataset.version !== v,
    version,
  );
  const after = await rows();
  const bought = before[0].product;
  check(after.length === 5, "still 5 rows after the purchase");
  check(
    !after.some((r) => r.product === bought),
    `the bought product ${bought} left the list (now ${after.map((r) => r.product).join(", ")})`,
  );
  check(
    after.map((r) => r.product).join() !== before.map((r) => r.product).join(),
    "the ranking changed",
  );
  const log = await page.textContent("#log");
  check(log.includes(before[0].name), `the page reports the purchase ("${log.trim()}")`);
  const greetingAfter = (await page.textContent("#greeting")).trim();
  check(greetingAfter.includes(firstName), `greeting after the purchase: "${greetingAfter}"`);
  await page.screenshot({ path: join(out, "demo.png"), fullPage: true });

  // Same module instance as the demo; the same data and method as examples/native_top10.rs.
  const timing = {};
  for (const method of ["topK", "topKQuantized"]) {
    timing[method] = await page.evaluate(async (method) => {
      const m = await import("/pkg/rapport_wasm.js");
      await m.default();
      const table = m.FactorTable.random(10_000, 64, 1);
      const q = m.FactorTable.random(64, 64, 2);
      const queries = Array.from({ length: 64 }, (_, i) => q.row(i));
      let n = 0;
      const call = () => table[method](queries[n++ % 64], 10);
      for (let i = 0; i < 500; i++) call();
      const perCall = [];
      for (let s = 0; s < 60; s++) {
        const t0 = performance.now();
        for (let i = 0; i < 50; i++) call();
        perCall.push(((performance.now() - t0) * 1000) / 50);
      }
      perCall.sort((a, b) => a - b);
      const best = table[method](queries[0], 10);
      const result = {
        medianMicros: perCall[30],
        minMicros: perCall[0],
        maxMicros: perCall[59],
        bestItem: best.items[0],
        bestScore: best.scores[0],
      };
      table.free();
      q.free();
      return result;
    }, method);
  }
  const names = { topK: "f32 scan", topKQuantized: "int8 scan + exact re-score" };
  for (const [method, t] of Object.entries(timing)) {
    console.log(
      `chromium top-10 over 10000 x 64, ${names[method]}: median ${t.medianMicros.toFixed(1)} µs per call ` +
        `(min ${t.minMicros.toFixed(1)}, max ${t.maxMicros.toFixed(1)}; 60 samples of 50 calls); ` +
        `query 0 best item ${t.bestItem} score ${t.bestScore.toFixed(4)}`,
    );
  }
  check(
    timing.topK.bestItem === timing.topKQuantized.bestItem,
    "both kernels find the same best product",
  );
  timing.userAgent = await page.evaluate(() => navigator.userAgent);
  writeFileSync(join(out, "browser.json"), JSON.stringify({ before, after, greeting, timing }, null, 2));

  check(problems.length === 0, `no page errors${problems.length ? ": " + problems.join("; ") : ""}`);
  console.log(`browser: all passed (screenshots in ${out})`);
} catch (e) {
  console.error(e.stack ?? String(e));
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
