// Shared by the Node tests: the generated Node package, the model file the build trained and
// saved with native rapport, and a small shop to train on in-process.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkgNode = join(root, "pkg-node", "rapport_wasm.js");
const model = join(root, "demo", "sample.rapport");
for (const f of [pkgNode, model]) {
  if (!existsSync(f)) throw new Error(`missing ${f}: run bash bindings/wasm/build.sh first`);
}

/** The Node package (CommonJS, built by `wasm-bindgen --target nodejs`). */
export const rapport = createRequire(import.meta.url)(pkgNode);

/** The bytes of the model file saved by native rapport (`examples/export_model.rs`). */
export const modelBytes = () => new Uint8Array(readFileSync(model));

/** The shop clock of the sample: one day after its latest purchase (2011-12-09 10:46 UTC). */
export const sampleNow = new Date("2011-12-10T10:46:00Z");

/** Asserts that `f` throws a RapportError with this code and a message matching `message`. */
export function throwsRapport(f, code, message) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof Error, "an Error");
    assert.equal(e.name, "RapportError");
    assert.equal(e.code, code, `code of: ${e.message}`);
    if (message instanceof RegExp) assert.match(e.message, message);
    else if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

const TEA = ["green-tea", "black-tea", "teapot", "tea-cups"];
const COFFEE = ["espresso", "grinder", "mocha-pot", "coffee-mugs"];

/**
 * Tea drinkers t0–t5 and coffee drinkers c6–c11; customer c buys item j of their set unless
 * (c + j) % 4 == 0, so t1 has everything tea but tea-cups. Tea products get category "tea".
 * The settings of the core's own engine tests.
 */
export function teaAndCoffeeShop() {
  const engine = new rapport.Engine({
    factors: 4,
    iterations: 15,
    regularization: 0.5,
    alpha: 5,
  });
  const purchases = [];
  for (let c = 0; c < 12; c++) {
    const [customer, set] = c < 6 ? [`t${c}`, TEA] : [`c${c}`, COFFEE];
    set.forEach((product, j) => {
      if ((c + j) % 4 !== 0) {
        purchases.push({
          customer,
          product,
          timestamp: (c * 3 + j) * 86_400_000,
          quantity: 1,
          unitPrice: 2,
        });
      }
    });
  }
  assert.equal(engine.recordPurchases(purchases), purchases.length);
  for (const id of TEA) {
    engine.upsertProduct({ id, name: id.replace("-", " "), category: "tea", price: 4 });
  }
  return engine;
}

export { TEA, COFFEE };
