// Error paths: every failure is a thrown RapportError with the core's message and a code, and
// the module keeps working afterwards (no panic, no trap).
import { test } from "node:test";
import assert from "node:assert/strict";
import { modelBytes, rapport, sampleNow, teaAndCoffeeShop, throwsRapport } from "./helpers.mjs";

const { Engine, FactorTable } = rapport;
const sample = Engine.fromBytes(modelBytes());
const CUSTOMER = "12415";
const purchase = (fields) => ({
  customer: "ann",
  product: "mug",
  timestamp: sampleNow,
  quantity: 1,
  unitPrice: 3,
  ...fields,
});

test("model bytes: garbage, empty, truncated, corrupted, newer version", () => {
  const bytes = modelBytes();
  throwsRapport(
    () => Engine.fromBytes(new TextEncoder().encode("GIF89a not a model")),
    "NotAModel",
    "not a rapport model file (bad magic bytes)",
  );
  throwsRapport(() => Engine.fromBytes(new Uint8Array()), "NotAModel");
  throwsRapport(
    () => Engine.fromBytes(bytes.slice(0, 16)),
    "Corrupted",
    "corrupted model file: truncated header: 16 of 24 bytes",
  );
  const payload = bytes.length - 24;
  throwsRapport(
    () => Engine.fromBytes(bytes.slice(0, bytes.length - 1000)),
    "Corrupted",
    `corrupted model file: truncated: header declares ${payload} payload bytes, ${payload - 1000} present`,
  );
  const flipped = bytes.slice();
  flipped[bytes.length >> 1] ^= 0x40;
  throwsRapport(() => Engine.fromBytes(flipped), "Corrupted", "corrupted model file: checksum mismatch");
  const newer = bytes.slice();
  new DataView(newer.buffer).setUint32(8, 7, true);
  throwsRapport(
    () => Engine.fromBytes(newer),
    "UnsupportedVersion",
    "model file format version 7 is newer than supported version 1",
  );
});

test("unknown customers and products", () => {
  throwsRapport(() => sample.similar("no-such-product"), "UnknownProduct", 'unknown product "no-such-product"');
  throwsRapport(() => sample.product("no-such-product"), "UnknownProduct");
  throwsRapport(() => sample.profile("no-such-customer", sampleNow), "UnknownCustomer", 'unknown customer "no-such-customer"');
  const e = Engine.fromBytes(modelBytes());
  throwsRapport(() => e.setInStock("no-such-product", false), "UnknownProduct");
  throwsRapport(() => e.refreshCustomer("no-such-customer"), "UnknownCustomer");
  e.free();
});

test("bad k and bad options", () => {
  for (const k of [-1, 1.5, NaN, Infinity, 2 ** 40]) {
    throwsRapport(
      () => sample.recommend(CUSTOMER, { k }),
      "InvalidArgument",
      `invalid argument: options.k must be a whole number from 0 to 4294967295, got ${k}`,
    );
    throwsRapport(() => sample.similar("85123A", k), "InvalidArgument", /^invalid argument: k must be a whole number from 0 to 4294967295,/);
  }
  // the largest k taken: every product
  assert.ok(sample.recommend(CUSTOMER, { k: 2 ** 32 - 1 }).products.length > 10);
  throwsRapport(() => sample.recommend(CUSTOMER, { k: "10" }), "InvalidArgument", /options: invalid type: string "10"/);
  throwsRapport(
    () => sample.recommend(CUSTOMER, { K: 3 }),
    "InvalidArgument",
    'invalid argument: options: unknown property "K" (expected one of: k, allowRepurchase, exclude, candidates, category, inStockOnly)',
  );
  throwsRapport(() => sample.recommend(CUSTOMER, 5), "InvalidArgument", "invalid argument: options must be an object");
  throwsRapport(() => sample.recommend(CUSTOMER, { exclude: "85123A" }), "InvalidArgument", /^invalid argument: options: /);
  // `null` and `undefined` mean the defaults
  assert.equal(sample.recommend(CUSTOMER, null).products.length, 10);
  assert.equal(sample.recommend(CUSTOMER, undefined).products.length, 10);
});

test("greetings: bad channel, empty id, no variants, bad variants, engagement, feedback", () => {
  throwsRapport(() => sample.greet(CUSTOMER, "fax", sampleNow), "InvalidArgument", 'invalid argument: unknown channel "fax"');
  throwsRapport(() => sample.greet("", "web", sampleNow), "InvalidArgument", "invalid argument: empty customer id");
  throwsRapport(() => new Engine().greet(CUSTOMER, "web"), "Empty", "empty input: no greeting variants registered");

  const e = Engine.fromBytes(modelBytes());
  throwsRapport(
    () => e.addGreetingVariants([{ id: "broken", template: "Hi {first_name" }]),
    "Template",
    /^greeting variant "broken": template error at character \d+: /,
  );
  throwsRapport(() => e.addGreetingVariants("[{"), "InvalidVariant", /malformed variant JSON/);
  throwsRapport(
    () => e.addGreetingVariants([{ id: "x", template: "Hi", featured_products: ["no-such-product"] }]),
    "UnknownProduct",
  );
  throwsRapport(() => e.addGreetingVariants([{ id: "x", template: "Hi", colour: "red" }]), "InvalidVariant", /unknown field `colour`/);
  throwsRapport(() => e.addGreetingVariants(42), "InvalidArgument");
  throwsRapport(() => e.recordEngagement(CUSTOMER, "no-such-variant", "click"), "UnknownVariant", 'unknown greeting variant "no-such-variant"');
  throwsRapport(() => e.recordEngagement(CUSTOMER, "hello-web", "like"), "InvalidArgument", /unknown engagement event "like"/);
  throwsRapport(() => e.recordFeedback(CUSTOMER, "nps", 11, sampleNow), "ScoreOutOfRange", "NPS score 11 is out of range 0–10");
  throwsRapport(() => e.recordFeedback(CUSTOMER, "csat", 0, sampleNow), "ScoreOutOfRange", "CSAT score 0 is out of range 1–5");
  throwsRapport(() => e.recordFeedback(CUSTOMER, "nps", 2.5, sampleNow), "InvalidArgument", "invalid argument: value must be a safe integer (a whole number up to ±(2^53 − 1)), got 2.5");
  for (const value of [NaN, Infinity, -Infinity, -0.5, 2 ** 53, -(2 ** 60), 1e20]) {
    assert.equal(Number.isSafeInteger(value), false);
    throwsRapport(() => e.recordFeedback(CUSTOMER, "ces", value, sampleNow), "InvalidArgument", `invalid argument: value must be a safe integer (a whole number up to ±(2^53 − 1)), got ${value}`);
  }
  // any whole number off the scale is ScoreOutOfRange, with the core's wording, whether or not
  // it fits the core's 0–255 answers
  for (const [scale, value, message] of [
    ["nps", -1, "NPS score -1 is out of range 0–10"],
    ["nps", 255, "NPS score 255 is out of range 0–10"],
    ["nps", 256, "NPS score 256 is out of range 0–10"],
    ["csat", -7, "CSAT score -7 is out of range 1–5"],
    ["csat", 6, "CSAT score 6 is out of range 1–5"],
    ["ces", 1000, "CES score 1000 is out of range 1–7"],
    ["ces", 2 ** 40, `CES score ${2 ** 40} is out of range 1–7`],
    ["nps", Number.MAX_SAFE_INTEGER, `NPS score ${Number.MAX_SAFE_INTEGER} is out of range 0–10`],
    ["csat", Number.MIN_SAFE_INTEGER, `CSAT score ${Number.MIN_SAFE_INTEGER} is out of range 1–5`],
  ]) {
    throwsRapport(() => e.recordFeedback(CUSTOMER, scale, value, sampleNow), "ScoreOutOfRange", message);
  }
  throwsRapport(() => e.recordFeedback(CUSTOMER, "nps", 300, "someday"), "InvalidArgument", /at: "someday" is not a date/);
  throwsRapport(() => e.recordFeedback(CUSTOMER, "stars", 4, sampleNow), "InvalidArgument", /unknown survey kind "stars"/);
  // nothing above was registered or recorded
  assert.equal(e.greet(CUSTOMER, "web", sampleNow).why.kind, sample.greet(CUSTOMER, "web", sampleNow).why.kind);
  e.free();
});

test("purchases: invalid quantities, prices, ids, times and shapes", () => {
  const e = new Engine();
  throwsRapport(() => e.recordPurchase(purchase({ quantity: 0 })), "InvalidWeight", "invalid quantity: 0 (must be finite and greater than 0)");
  throwsRapport(() => e.recordPurchase(purchase({ unitPrice: -1 })), "InvalidWeight", "invalid unit price: -1 (must be finite and non-negative)");
  throwsRapport(() => e.observe(purchase({ quantity: NaN })), "InvalidWeight");
  throwsRapport(() => e.recordPurchase(purchase({ customer: "" })), "InvalidArgument", "invalid argument: empty customer id");
  throwsRapport(() => e.recordPurchase(purchase({ timestamp: "yesterday" })), "InvalidArgument", /purchase.timestamp: "yesterday" is not a date/);
  throwsRapport(() => e.recordPurchase(purchase({ timestamp: new Date(NaN) })), "InvalidArgument", /purchase.timestamp: NaN is not a valid time/);
  throwsRapport(() => e.recordPurchase(purchase({ timestamp: true })), "InvalidArgument", /purchase.timestamp must be a Date/);
  const { quantity, ...noQuantity } = purchase();
  assert.equal(quantity, 1);
  throwsRapport(() => e.recordPurchase(noQuantity), "InvalidArgument", /missing field `quantity`/);
  throwsRapport(() => e.recordPurchase(purchase({ qty: 2 })), "InvalidArgument", /unknown property "qty"/);
  throwsRapport(() => e.recordPurchases(purchase()), "InvalidArgument", "invalid argument: purchases must be an array");
  throwsRapport(
    () => e.recordPurchases([purchase(), purchase({ unitPrice: "3" })]),
    "InvalidArgument",
    /^invalid argument: purchases\[1\]: invalid type: string "3"/,
  );
  assert.equal(e.purchaseCount, 0, "a shape error records nothing");
  throwsRapport(() => e.recordPurchases([purchase(), purchase({ quantity: -2 })]), "InvalidArgument", /^invalid argument: purchase 1: invalid quantity: -2/);
  assert.equal(e.purchaseCount, 1, "purchases before the invalid one stay recorded");
  throwsRapport(() => e.upsertProduct({ id: "", name: "nameless" }), "InvalidArgument");
  throwsRapport(() => e.upsertProduct({ id: "mug", price: -3 }), "InvalidWeight");
  throwsRapport(() => e.upsertCustomer({ id: "ann", channel: "pigeon" }), "InvalidArgument", /unknown channel "pigeon"/);
  e.free();
});

test("training: nothing to train on, bad settings, not trained yet", () => {
  const empty = new Engine();
  throwsRapport(() => empty.recommend(CUSTOMER), "NotTrained", "the model is not trained yet");
  throwsRapport(() => empty.similar("mug"), "NotTrained");
  throwsRapport(() => empty.train(), "Empty", "empty input: no purchases to train on");
  throwsRapport(() => new Engine({ factors: -1 }), "InvalidArgument", /^invalid argument: config: /);
  throwsRapport(() => new Engine({ factor: 8 }), "InvalidArgument", /unknown property "factor"/);
  const shop = teaAndCoffeeShop();
  const bad = Engine.fromBytes(shop.toBytes());
  const zero = new Engine({ factors: 0 });
  zero.recordPurchase(purchase());
  throwsRapport(() => zero.train(), "InvalidConfig", "invalid configuration: factors must be at least 1");
  const negative = new Engine({ regularization: -1 });
  negative.recordPurchase(purchase());
  throwsRapport(() => negative.train(), "InvalidConfig", /regularization = -1 must be finite and ≥ 0/);
  for (const e of [empty, shop, bad, zero, negative]) e.free();
});

test("CSV: missing column, strict rows, bad options", () => {
  const e = new Engine();
  throwsRapport(
    () => e.readCsv("a,b,c\n1,2,3\n"),
    "MissingColumn",
    'CSV header has no column "CustomerID" (have: a,b,c)',
  );
  const layout = { customer: "who", product: "what", timestamp: "when" };
  throwsRapport(
    () => e.readCsv("who,what,when\nann,mug,someday\n", { layout, strict: true }),
    "BadRow",
    /^line 2: /,
  );
  throwsRapport(() => e.readCsv("x", { layout: "excel" }), "InvalidArgument", /unknown preset "excel"/);
  throwsRapport(() => e.readCsv("x", { delimiter: ";;" }), "InvalidArgument", /one ASCII character/);
  throwsRapport(() => e.readCsv("x", { layout: { customer: "who" } }), "InvalidArgument", /missing field `product`/);
  e.free();
});

test("FactorTable: bad shapes and queries", () => {
  throwsRapport(() => new FactorTable(new Float32Array(10), 3), "InvalidArgument", /divide data.length \(10\)/);
  throwsRapport(() => new FactorTable(new Float32Array(6), 0), "InvalidArgument");
  const t = new FactorTable(new Float32Array([1, 0, 0, 1, 1, 1]), 2);
  throwsRapport(() => t.topK(new Float32Array(3), 1), "InvalidArgument", "invalid argument: query has 3 numbers, the table's rows have 2");
  throwsRapport(() => t.topKQuantized(new Float32Array(1), 1), "InvalidArgument");
  throwsRapport(() => t.topK(new Float32Array(2), -1), "InvalidArgument");
  throwsRapport(() => t.row(3), "InvalidArgument", "invalid argument: row 3 is out of range: the table has 3 rows");
  throwsRapport(() => FactorTable.random(1e6, 1e6, 1), "InvalidArgument", /too large/);
  t.free();
  // zero-width tables are rejected by random as by the constructor (topK on one would trap)
  throwsRapport(() => FactorTable.random(5, 0, 1), "InvalidArgument", "invalid argument: factors must be ≥ 1, got 0");
  throwsRapport(() => FactorTable.random(0, 0, 1), "InvalidArgument", "invalid argument: factors must be ≥ 1, got 0");
  const empty = FactorTable.random(0, 3, 1);
  assert.equal(empty.rows, 0);
  assert.equal(empty.topK([1, 2, 3], 2).items.length, 0, "zero rows are fine");
  empty.free();
});

test("arguments of the wrong type are InvalidArgument, never a trap", () => {
  // The generated glue would copy a number into WASM memory as if it were a string.
  throwsRapport(() => sample.recommend(12415), "InvalidArgument", "invalid argument: customer must be a string");
  throwsRapport(() => sample.greet(CUSTOMER, 1), "InvalidArgument", "invalid argument: channel must be a string");
  throwsRapport(() => sample.similar({ id: "85123A" }), "InvalidArgument", "invalid argument: product must be a string");
  throwsRapport(() => sample.profile(null), "InvalidArgument", "invalid argument: customer must be a string");
  throwsRapport(() => Engine.fromBytes(null), "InvalidArgument", "invalid argument: bytes must be a Uint8Array or an ArrayBuffer");
  throwsRapport(() => Engine.fromBytes("RAPPORT"), "InvalidArgument");
  throwsRapport(() => Engine.fromBytes([82, 65]), "InvalidArgument");
  throwsRapport(() => new Engine().readCsv(5), "InvalidArgument", "invalid argument: text must be a string or a Uint8Array");
  throwsRapport(() => new FactorTable(5, 1), "InvalidArgument", "invalid argument: data must be a Float32Array or an array of numbers");
  const t = new FactorTable([1, 2, 3, 4], 2);
  throwsRapport(() => t.topK("ab", 1), "InvalidArgument", "invalid argument: query must be a Float32Array or an array of numbers");
  assert.deepEqual(Array.from(t.topK([1, 1], 1).items), [1], "a plain array of numbers is fine");
  t.free();
  assert.equal(sample.recommend(CUSTOMER).products.length, 10);
});

test("numbers, booleans and number arrays are checked, never coerced", () => {
  const wrong = [
    [null, "null"],
    [undefined, "undefined"],
    ["", "a string"],
    ["7", "a string"],
    [[], "an array"],
    [{}, "an object"],
    [true, "a boolean"],
  ];
  const e = Engine.fromBytes(modelBytes());
  const kind = () => e.greet(CUSTOMER, "web", sampleNow).why.kind;
  const before = kind();
  assert.notEqual(before, "service-recovery");
  for (const [value, what] of wrong) {
    for (const scale of ["nps", "csat", "ces"]) {
      throwsRapport(
        () => e.recordFeedback(CUSTOMER, scale, value, sampleNow),
        "InvalidArgument",
        `invalid argument: value must be a number, got ${what}`,
      );
    }
  }
  const report = e.feedbackReport();
  assert.deepEqual([report.promoters + report.passives + report.detractors, report.csatResponses, report.cesResponses], [0, 0, 0]);
  assert.equal(kind(), before, "no answer was recorded (NPS 0 would switch to service recovery)");

  const id = "85123A";
  assert.equal(e.product(id).inStock, true);
  for (const [value, what] of [["true", "a string"], ["yes", "a string"], [0.5, "a number"], [1, "a number"], [undefined, "undefined"], [null, "null"], [{}, "an object"]]) {
    throwsRapport(() => e.setInStock(id, value), "InvalidArgument", `invalid argument: inStock must be a boolean, got ${what}`);
  }
  assert.equal(e.product(id).inStock, true, "nothing changed");
  e.setInStock(id, false);
  assert.equal(e.product(id).inStock, false);
  e.setInStock(id, true);
  assert.equal(e.product(id).inStock, true);

  for (const [k, what] of wrong.filter(([k]) => k != null)) {
    throwsRapport(() => e.similar(id, k), "InvalidArgument", `invalid argument: k must be a number, got ${what}`);
  }
  // an omitted k (undefined or null) is the default, 10
  assert.equal(e.similar(id, undefined).products.length, 10);
  assert.equal(e.similar(id, null).products.length, 10);
  assert.equal(e.similar(id, 3).products.length, 3);
  e.free();

  throwsRapport(() => new FactorTable(["x"], 1), "InvalidArgument", "invalid argument: data[0] must be a number, got a string");
  throwsRapport(() => new FactorTable([1, true], 1), "InvalidArgument", "invalid argument: data[1] must be a number, got a boolean");
  throwsRapport(() => new FactorTable([1, null, 3], 1), "InvalidArgument", "invalid argument: data[1] must be a number, got null");
  throwsRapport(() => new FactorTable([1, , 3], 1), "InvalidArgument", "invalid argument: data[1] must be a number, got undefined");
  for (const [value, what] of wrong) {
    throwsRapport(() => new FactorTable([1, 2], value), "InvalidArgument", `invalid argument: factors must be a number, got ${what}`);
    throwsRapport(() => FactorTable.random(value, 2, 1), "InvalidArgument", `invalid argument: rows must be a number, got ${what}`);
    throwsRapport(() => FactorTable.random(2, value, 1), "InvalidArgument", `invalid argument: factors must be a number, got ${what}`);
    throwsRapport(() => FactorTable.random(2, 2, value), "InvalidArgument", `invalid argument: seed must be a number, got ${what}`);
  }
  const t = new FactorTable([1, 0, 0, 1], 2);
  for (const method of ["topK", "topKQuantized"]) {
    throwsRapport(() => t[method](["a", 1], 2), "InvalidArgument", "invalid argument: query[0] must be a number, got a string");
    throwsRapport(() => t[method]([1, [2]], 2), "InvalidArgument", "invalid argument: query[1] must be a number, got an array");
    for (const [k, what] of wrong) {
      throwsRapport(() => t[method]([1, 1], k), "InvalidArgument", `invalid argument: k must be a number, got ${what}`);
    }
    assert.deepEqual(Array.from(t[method]([1, 2], 2).items), [1, 0], "numbers are fine");
  }
  for (const [index, what] of wrong) {
    throwsRapport(() => t.row(index), "InvalidArgument", `invalid argument: index must be a number, got ${what}`);
  }
  assert.deepEqual(Array.from(t.row(1)), [0, 1]);
  // NaN is a number: kept as it is (the int8 scan falls back to the exact one)
  const nan = new FactorTable([NaN, 1], 1);
  assert.ok(Number.isNaN(nan.row(0)[0]));
  nan.free();
  t.free();
});

test("every code is a documented one, and the module still works after all the errors", () => {
  const codes = new Set();
  const attempts = [
    () => Engine.fromBytes(new Uint8Array(3)),
    () => sample.recommend(CUSTOMER, { k: -1 }),
    () => sample.similar("nope"),
    () => sample.profile("nope", sampleNow),
    () => new Engine().recommend("x"),
    () => new Engine().train(),
  ];
  for (const f of attempts) {
    try {
      f();
      assert.fail("should have thrown");
    } catch (e) {
      codes.add(e.code);
    }
  }
  assert.deepEqual([...codes].sort(), ["Empty", "InvalidArgument", "NotAModel", "NotTrained", "UnknownCustomer", "UnknownProduct"]);
  const r = sample.recommend(CUSTOMER, { k: 3 });
  assert.equal(r.products.length, 3);
  assert.equal(r.fallback, false);
});

test("train and feedbackReport: bad callbacks and options", () => {
  const e = teaAndCoffeeShop();
  throwsRapport(() => e.train(42), "InvalidArgument", "invalid argument: onProgress must be a function");
  assert.equal(e.isTrained, false, "nothing trained on a bad argument");
  throwsRapport(
    () => e.feedbackReport({ period: "week" }),
    "InvalidArgument",
    /options\.period: unknown period "week"/,
  );
  throwsRapport(
    () => e.feedbackReport({ from: "2011-02-01", to: "2011-01-01" }),
    "InvalidArgument",
    /^invalid argument: empty report window: from \(2011-02-01[^)]*\) must be before to \(2011-01-01/,
  );
  throwsRapport(() => e.feedbackReport({ form: 0 }), "InvalidArgument");
  throwsRapport(() => e.feedbackReport({ to: "yesterday" }), "InvalidArgument", /options\.to/);
  throwsRapport(() => e.feedbackReport("month"), "InvalidArgument");
  // the engine still works
  assert.equal(e.feedbackReport().retention.length, 1);
  e.free();
});

test("setGreetingSettings: bad values change nothing", () => {
  const e = teaAndCoffeeShop();
  const before = e.greetingSettings();
  throwsRapport(
    () => e.setGreetingSettings({ shopName: "Mugs", smsMaxChars: 5 }),
    "InvalidConfig",
    /length limits must be at least 20 characters/,
  );
  throwsRapport(() => e.setGreetingSettings({ clickAlpha: -1 }), "InvalidConfig", /click_alpha/);
  throwsRapport(
    () => e.setGreetingSettings({ engagementRegularization: 1e-46 }),
    "InvalidArgument",
    /settings\.engagementRegularization is outside the range of a 32-bit float/,
  );
  throwsRapport(() => e.setGreetingSettings({ clickAlpha: 1e39 }), "InvalidArgument", /settings\.clickAlpha is outside the range/);
  throwsRapport(() => e.setGreetingSettings({ runnersUp: 1.5 }), "InvalidArgument", /settings\.runnersUp/);
  throwsRapport(() => e.setGreetingSettings({ shopname: "Mugs" }), "InvalidArgument");
  throwsRapport(() => e.setGreetingSettings({ defaultLocale: 7 }), "InvalidArgument");
  throwsRapport(
    () => e.setGreetingSettings({ shopName: 7 }),
    "InvalidArgument",
    "invalid argument: settings.shopName must be a string or null, got a number",
  );
  throwsRapport(() => e.setGreetingSettings({ shopName: ["Mugs"] }), "InvalidArgument", /settings\.shopName must be a string or null, got an array/);
  throwsRapport(() => e.setGreetingSettings(null), "InvalidArgument");
  assert.deepEqual(e.greetingSettings(), before);
  e.free();
});

test("setBlend: bad values change nothing", () => {
  const e = teaAndCoffeeShop();
  e.train();
  e.setBlend(rapport.Engine.coPurchaseBlend());
  const before = e.blend();
  const recs = e.recommend("t2");
  throwsRapport(() => e.setBlend({ weight: 1.5 }), "InvalidConfig", /weight/);
  throwsRapport(() => e.setBlend({ weight: NaN }), "InvalidConfig", /weight/);
  throwsRapport(() => e.setBlend({ weight: -0.1, pool: 10 }), "InvalidConfig", /weight/);
  throwsRapport(() => e.setBlend({ neighbours: 0 }), "InvalidConfig", /neighbours/);
  throwsRapport(() => e.setBlend({ pool: 0 }), "InvalidConfig", /pool/);
  throwsRapport(() => e.setBlend({ pool: 2.5 }), "InvalidArgument", /settings\.pool/);
  throwsRapport(() => e.setBlend({ neighbors: 10 }), "InvalidArgument");
  throwsRapport(() => e.setBlend(null), "InvalidArgument");
  throwsRapport(() => e.setBlend({ weight: "0.2" }), "InvalidArgument");
  // a weight a 32-bit float cannot hold is refused, not rounded to 0 (which turns the re-rank off)
  throwsRapport(
    () => e.setBlend({ weight: 1e-46 }),
    "InvalidArgument",
    "invalid argument: settings.weight is outside the range of a 32-bit float (0, or a size from about 1.4e-45 to 3.4e38)",
  );
  assert.deepEqual(e.blend(), before);
  assert.deepEqual(e.recommend("t2"), recs);
  e.free();
});

test("engine settings a 32-bit float cannot hold are refused, not rounded", () => {
  for (const [key, value] of [
    ["regularization", 1e-46],
    ["alpha", 1e-50],
    ["alpha", 1e39],
    ["frequencyScaling", 1e-46],
    ["itemFrequencyScaling", -1e39],
  ]) {
    throwsRapport(
      () => new Engine({ [key]: value }),
      "InvalidArgument",
      `invalid argument: config.${key} is outside the range of a 32-bit float (0, or a size from about 1.4e-45 to 3.4e38)`,
    );
  }
  // 0 and ordinary values still pass; NaN reaches the core's own check
  new Engine({ regularization: 0, alpha: 2.5 }).free();
  const e = new Engine({ alpha: NaN, factors: 4, iterations: 1 });
  e.recordPurchase(purchase({}));
  throwsRapport(() => e.train(), "InvalidConfig", /alpha/);
  e.free();
});

test("arguments whose reading throws: a RapportError, and the engine and module keep working", () => {
  const e = new Engine();
  e.recordPurchase(purchase({}));
  const boom = () => {
    throw new Error("boom");
  };
  const getter = (fields, key) => Object.defineProperty({ ...fields }, key, { get: boom, enumerable: true });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  class LateDate extends Date {
    getTime() {
      throw new Error("boom");
    }
  }
  const cases = [
    ["a throwing getter in a purchase", () => e.recordPurchase(getter(purchase({ product: "tea" }), "quantity")), /purchase: boom/],
    ["a throwing getter in one of many purchases", () => e.recordPurchases([purchase({ product: "tea" }), getter(purchase({}), "customer")]), /purchases: boom/],
    ["a Proxy whose ownKeys trap throws", () => e.upsertProduct(new Proxy({ id: "x" }, { ownKeys: boom })), /product: boom/],
    ["a Proxy array whose get trap throws", () => e.recordPurchases(new Proxy([purchase({})], { get: boom })), /purchases: boom/],
    ["a throwing getter in options", () => e.recommend("ann", getter({}, "k")), /options: boom/],
    ["a revoked Proxy as options", () => e.recommend("ann", revoked.proxy), /options: .*revoked/],
    ["a throwing getter in the engine settings", () => new Engine(getter({}, "factors")), /config: boom/],
    ["a cycle", () => e.recommend("ann", (() => { const o = {}; o.exclude = [o]; return o; })()), /nested more than 16 levels/],
  ];
  for (const [what, f, message] of cases) {
    throwsRapport(f, "InvalidArgument", message);
    // nothing was recorded, and the engine is not left borrowed
    assert.equal(e.purchaseCount, 1, what);
    assert.deepEqual(e.customerIds(), ["ann"], what);
  }
  // a Date subclass is read by the intrinsic getTime, not its override
  assert.equal(e.recordPurchase(purchase({ product: "tea", timestamp: new LateDate(Date.UTC(2011, 11, 9)) })), true);
  assert.equal(e.purchaseCount, 2);
  // a class instance's own fields are read; the copy keeps a "__proto__" key a plain property
  assert.equal(e.recordPurchase(JSON.parse('{"customer":"bo","product":"mug","timestamp":0,"quantity":1,"unitPrice":3}')), true);
  throwsRapport(
    () => e.recordPurchase(JSON.parse('{"__proto__":{"customer":"x"},"product":"mug","timestamp":0,"quantity":1,"unitPrice":3}')),
    "InvalidArgument",
    /unknown property "__proto__"/,
  );
  // far more failures than the module's shadow stack could absorb if each one leaked a frame
  for (let i = 0; i < 2000; i++) {
    assert.throws(() => new Engine(getter({}, "factors")));
  }
  assert.equal(new Engine().purchaseCount, 0);
  e.free();
});

test("typed arrays are read by their real contents, whatever their length property says", () => {
  const lie = (a, n) => Object.defineProperty(a, "length", { value: n });
  throwsRapport(() => Engine.fromBytes(lie(new Uint8Array(4), 2 ** 32 - 1)), "NotAModel");
  throwsRapport(() => Engine.fromBytes(lie(new Uint8Array(64), 0)), "NotAModel");
  // the real bytes of a model load even when its length claims 0
  assert.equal(Engine.fromBytes(lie(modelBytes(), 0)).isTrained, true);
  const t = new FactorTable(lie(new Float32Array([1, 0, 0, 1]), 2 ** 30), 2);
  assert.equal(t.rows, 2);
  const best = t.topK(lie(new Float32Array([0, 1]), 2 ** 31), 1);
  assert.deepEqual([...best.items], [1]);
  t.free();
});
