// The generated packages: layout, package.json, TypeScript declarations, and the browser (web)
// build loaded in Node, which must answer like the Node build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { modelBytes, rapport, root } from "./helpers.mjs";

const files = [
  "rapport_wasm.js",
  "rapport_wasm.d.ts",
  "rapport_wasm_bg.wasm",
  "rapport_wasm_bg.wasm.d.ts",
  "snippets/",
];

/** The JS snippets wasm-bindgen copied into a package (`src/snapshot.js`). */
function snippets(dir) {
  return readdirSync(join(root, dir, "snippets"), { recursive: true })
    .filter((f) => f.endsWith(".js"))
    .map((f) => readFileSync(join(root, dir, "snippets", f), "utf8"));
}

test("both packages have the expected files and package.json", () => {
  for (const [dir, type] of [["pkg", "module"], ["pkg-node", "commonjs"]]) {
    for (const f of [...files, "package.json"]) assert.ok(existsSync(join(root, dir, f)), `${dir}/${f}`);
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    assert.equal(pkg.name, "rapport-wasm");
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
    assert.equal(pkg.version, rapport.version());
    assert.equal(pkg.type, type);
    assert.equal(pkg.main, "rapport_wasm.js");
    assert.equal(pkg.types, "rapport_wasm.d.ts");
    assert.deepEqual(pkg.files, files);
  }
  // the web package imports its snippet as an ES module, the Node package requires it
  const [web_js] = snippets("pkg");
  const [node_js] = snippets("pkg-node");
  assert.match(web_js, /^export function snapshot\(/m);
  assert.doesNotMatch(node_js, /^\s*(export|import)\s/m);
  assert.match(node_js, /^module\.exports = \{ snapshot,isArrayQuietly \};$/m);
  const web = readFileSync(join(root, "pkg", "rapport_wasm_bg.wasm"));
  const node = readFileSync(join(root, "pkg-node", "rapport_wasm_bg.wasm"));
  assert.ok(WebAssembly.validate(web) && WebAssembly.validate(node));
});

test("the TypeScript declarations describe the API", () => {
  const dts = readFileSync(join(root, "pkg", "rapport_wasm.d.ts"), "utf8");
  for (const line of [
    "static fromBytes(bytes: Uint8Array | ArrayBuffer): Engine;",
    "recommend(customer: string, options?: RecommendOptions): Recommendations;",
    "greet(customer: string, channel: Channel, at?: Time): Greeting;",
    "profile(customer: string, at?: Time): Profile;",
    "observe(purchase: Purchase): boolean;",
    "similar(product: string, k?: number | null): SimilarProducts;",
    "train(onProgress?: (progress: TrainProgress) => void): TrainReport;",
    "feedbackReport(options?: FeedbackReportOptions): FeedbackReport;",
    "scores: Float32Array;",
    'export type Channel = "web" | "email" | "sms" | "app" | "in-store";',
    "export interface RapportError extends Error {",
    "topK(query: Float32Array | number[], k: number): TopK;",
    // parameters taken as JS values and checked in Rust keep their declared types
    "recordFeedback(customer: string, kind: SurveyKind, value: number, at?: Time): void;",
    "setInStock(product: string, inStock: boolean): void;",
    "constructor(data: Float32Array | number[], factors: number);",
    "static random(rows: number, factors: number, seed: number): FactorTable;",
    "row(index: number): Float32Array;",
    "topKQuantized(query: Float32Array | number[], k: number): TopK;",
  ]) {
    assert.ok(dts.includes(line), `d.ts declares: ${line}`);
  }
});

test("the web build runs in Node too and answers like the Node build", async () => {
  const web = await import(join(root, "pkg", "rapport_wasm.js"));
  await web.default({ module_or_path: readFileSync(join(root, "pkg", "rapport_wasm_bg.wasm")) });
  const a = web.Engine.fromBytes(modelBytes());
  const b = rapport.Engine.fromBytes(modelBytes());
  assert.deepEqual(a.recommend("12415", { k: 5 }), b.recommend("12415", { k: 5 }));
  assert.deepEqual(a.similar("85123A", 5), b.similar("85123A", 5));
  assert.equal(web.version(), rapport.version());
  a.free();
  b.free();
});
