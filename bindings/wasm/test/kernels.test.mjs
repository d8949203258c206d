// The scoring and training kernels as built for WebAssembly (simd128): FactorTable's two top-k
// scans against a plain JavaScript reference on awkward shapes, the cross-platform random
// tables, and a model trained in WASM against the one trained natively.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { modelBytes, rapport, root } from "./helpers.mjs";

const { Engine, FactorTable } = rapport;

/** Best `k` of rows · query (float64 sums), ties by lower index. */
function reference(data, f, query, k) {
  const rows = data.length / f;
  const scored = [];
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < f; j++) s += data[i * f + j] * query[j];
    scored.push([i, s]);
  }
  scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return scored.slice(0, k);
}

/** Small integers: every f32 sum is exact, so results must match the reference exactly. */
function coarse(n, seed) {
  return Float32Array.from({ length: n }, (_, i) => ((i * 31 + seed * 17) % 7) - 3);
}

test("both scans equal the reference on awkward shapes (exact arithmetic)", () => {
  for (const f of [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 65]) {
    for (const rows of [0, 1, 3, 4, 5, 8, 9, 257, 1030]) {
      const data = coarse(rows * f, f);
      const table = new FactorTable(data, f);
      assert.equal(table.rows, rows);
      assert.equal(table.factors, f);
      const query = coarse(f, rows + 3);
      for (const k of [0, 1, 5, 40]) {
        const want = reference(data, f, query, k);
        for (const method of ["topK", "topKQuantized"]) {
          const got = table[method](query, k);
          assert.ok(got.items instanceof Uint32Array && got.scores instanceof Float32Array);
          assert.deepEqual(
            Array.from(got.items),
            want.map(([i]) => i),
            `${method} ${rows} x ${f}, k ${k}`,
          );
          assert.deepEqual(Array.from(got.scores), want.map(([, s]) => s));
        }
      }
      table.free();
    }
  }
});

test("both scans agree with the reference on random tables", () => {
  const table = FactorTable.random(3000, 37, 11);
  const queries = FactorTable.random(20, 37, 12);
  const data = new Float32Array(3000 * 37);
  for (let i = 0; i < 3000; i++) data.set(table.row(i), i * 37);
  for (let q = 0; q < 20; q++) {
    const query = queries.row(q);
    const want = reference(data, 37, query, 10);
    const exact = table.topK(query, 10);
    assert.deepEqual(table.topKQuantized(query, 10), exact, "the int8 scan returns exactly the f32 scan's answer");
    exact.items.forEach((item, i) => {
      // f32 sums in another order than the float64 reference: equal up to rounding
      assert.ok(Math.abs(exact.scores[i] - want[i][1]) < 1e-4, `score ${i}`);
      if (item !== want[i][0]) assert.ok(Math.abs(want[i][1] - exact.scores[i]) < 1e-4, "only near-ties swap");
    });
  }
  table.free();
  queries.free();
});

test("random tables are the same numbers on every platform", () => {
  const t = FactorTable.random(4, 3, 7);
  const again = FactorTable.random(4, 3, 7);
  assert.deepEqual(t.row(3), again.row(3));
  for (let i = 0; i < 4; i++) for (const x of t.row(i)) assert.ok(x >= -1 && x < 1);
  // The benchmark's data: examples/native_top10.rs prints the same best product natively.
  const items = FactorTable.random(10_000, 64, 1);
  const query = FactorTable.random(64, 64, 2).row(0);
  const best = items.topK(query, 10);
  assert.equal(best.items[0], 5953);
  assert.ok(Math.abs(best.scores[0] - 10.713) < 1e-3);
  assert.deepEqual(items.topKQuantized(query, 10), best);
  for (const x of [t, again, items]) x.free();
});

test("training in WASM gives the model trained natively, up to rounding", () => {
  const native = Engine.fromBytes(modelBytes());
  const inPage = new Engine();
  const csv = readFileSync(join(root, "..", "..", "data", "online_retail_sample.csv"), "utf8");
  assert.equal(inPage.readCsv(csv).kept, 49285);
  const report = inPage.train();
  assert.equal(report.customers, 616);
  assert.equal(report.products, 3030);
  let same = 0;
  const customers = native.customerIds().slice(0, 100);
  for (const c of customers) {
    const a = native.recommend(c).products;
    const b = inPage.recommend(c).products;
    same += a.filter((p) => b.includes(p)).length;
  }
  // The kernels round differently (no FMA in WebAssembly SIMD) and ALS amplifies it a little.
  assert.ok(same >= 0.8 * 10 * customers.length, `top-10 overlap ${same} of ${10 * customers.length}`);
  assert.equal(inPage.recommend("12415").products[0], native.recommend("12415").products[0]);
  native.free();
  inPage.free();
});
