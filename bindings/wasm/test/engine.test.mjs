// Success paths of the Engine API over the generated Node package.
import { test } from "node:test";
import assert from "node:assert/strict";
import { COFFEE, TEA, modelBytes, rapport, sampleNow, teaAndCoffeeShop } from "./helpers.mjs";

const { Engine } = rapport;
const sample = Engine.fromBytes(modelBytes());
const CUSTOMER = "12415";

test("a model file saved by native rapport loads unchanged", () => {
  assert.equal(sample.isTrained, true);
  assert.equal(sample.customerCount, 616);
  assert.equal(sample.productCount, 3030);
  assert.equal(sample.purchaseCount, 49285);
  assert.ok(sample.lastPurchaseAt instanceof Date);
  assert.equal(sample.lastPurchaseAt.toISOString(), "2011-12-09T10:46:00.000Z");
  const ids = sample.customerIds();
  assert.equal(ids.length, 616);
  assert.ok(ids.includes(CUSTOMER));
  assert.equal(rapport.modelFormatVersion(), 1);
  // an ArrayBuffer (what `fetch(...).arrayBuffer()` gives) loads the same model
  const fromBuffer = Engine.fromBytes(modelBytes().buffer);
  assert.deepEqual(fromBuffer.recommend(CUSTOMER), sample.recommend(CUSTOMER));
  fromBuffer.free();
  assert.match(rapport.version(), /^\d+\.\d+\.\d+$/);
});

test("recommend: ranked products with Float32Array scores and reasons", () => {
  const r = sample.recommend(CUSTOMER, { k: 5 });
  assert.equal(r.customer, CUSTOMER);
  assert.equal(r.fallback, false);
  assert.equal(r.products.length, 5);
  assert.equal(r.names.length, 5);
  assert.ok(r.scores instanceof Float32Array);
  assert.equal(r.scores.length, 5);
  for (let i = 1; i < 5; i++) assert.ok(r.scores[i] <= r.scores[i - 1], "best first");
  assert.equal(new Set(r.products).size, 5);
  r.products.forEach((id, i) => {
    assert.equal(typeof id, "string");
    assert.equal(r.names[i], sample.product(id).name);
    // the reason names the bought product behind it
    const because = sample.product(r.because[i]);
    assert.equal(r.reasons[i], `because you bought ${because.name}`);
    assert.ok(!r.products.includes(because.id), "bought products are not recommended");
  });
  // the default k is 10, and a larger request starts with the same ranking
  const ten = sample.recommend(CUSTOMER);
  assert.equal(ten.products.length, 10);
  assert.deepEqual(ten.products.slice(0, 5), r.products);
  assert.deepEqual(Array.from(ten.scores.slice(0, 5)), Array.from(r.scores));
});

test("recommend filters: exclude, candidates, category, repurchase, k", () => {
  const all = sample.recommend(CUSTOMER, { k: 6 });
  const [p0, p1, p2, p3] = all.products;

  const ex = sample.recommend(CUSTOMER, { k: 5, exclude: [p0, "no-such-product"] });
  assert.deepEqual(ex.products, all.products.slice(1, 6));

  const only = sample.recommend(CUSTOMER, { candidates: [p3, "no-such-product", p1] });
  assert.deepEqual(only.products, [p1, p3]);
  assert.deepEqual(Array.from(only.scores), [all.scores[1], all.scores[3]]);

  // the sample has no categories: an unknown category gives an empty list, not an error
  const cat = sample.recommend(CUSTOMER, { category: "garden" });
  assert.deepEqual(cat.products, []);
  assert.equal(cat.scores.length, 0);
  assert.equal(cat.fallback, false);

  const everything = sample.recommend(CUSTOMER, { k: 5000, allowRepurchase: true });
  assert.equal(everything.products.length, 3030);
  const unbought = sample.recommend(CUSTOMER, { k: 5000 });
  assert.ok(unbought.products.length < 3030);
  for (const id of all.because) assert.ok(everything.products.includes(id));
  for (const id of all.because) assert.ok(!unbought.products.includes(id));

  assert.deepEqual(sample.recommend(CUSTOMER, { k: 0 }).products, []);
  assert.equal(p2, all.products[2]);
});

test("recommend: stock filter follows setInStock", () => {
  const e = Engine.fromBytes(modelBytes());
  const top = e.recommend(CUSTOMER, { k: 3 }).products;
  e.setInStock(top[0], false);
  assert.equal(e.product(top[0]).inStock, false);
  assert.deepEqual(e.recommend(CUSTOMER, { k: 2 }).products, top.slice(1));
  assert.deepEqual(e.recommend(CUSTOMER, { k: 3, inStockOnly: false }).products, top);
  e.setInStock(top[0], true);
  assert.deepEqual(e.recommend(CUSTOMER, { k: 3 }).products, top);
  e.free();
});

test("recommend: unknown customers get the flagged popularity fallback", () => {
  const r = sample.recommend("never-seen", { k: 4 });
  assert.equal(r.fallback, true);
  assert.equal(r.products.length, 4);
  assert.deepEqual(r.reasons, Array(4).fill("popular with other customers right now"));
  assert.deepEqual(r.because, [null, null, null, null]);
  for (let i = 1; i < 4; i++) assert.ok(r.scores[i] <= r.scores[i - 1]);
  assert.ok(r.scores[3] >= 1, "popularity counts distinct buyers");
});

test("similar products", () => {
  const s = sample.similar("85123A", 5);
  assert.equal(s.product, "85123A");
  assert.equal(s.products.length, 5);
  assert.ok(!s.products.includes("85123A"));
  assert.ok(s.similarities instanceof Float32Array);
  for (let i = 0; i < 5; i++) {
    assert.ok(s.similarities[i] <= 1.0001 && s.similarities[i] >= -1.0001);
    if (i > 0) assert.ok(s.similarities[i] <= s.similarities[i - 1]);
    assert.equal(s.names[i], sample.product(s.products[i]).name);
  }
  assert.equal(sample.similar("85123A").products.length, 10, "default k is 10");
});

test("profile fields", () => {
  const p = sample.profile(CUSTOMER, sampleNow);
  assert.equal(p.id, CUSTOMER);
  assert.equal(p.orders, 20);
  assert.equal(p.segment, "champion");
  assert.deepEqual(p.rfm, { recency: 4, frequency: 5, monetary: 5 });
  assert.ok(Math.abs(p.averageOrderValue * p.orders - p.totalSpend) < 1e-6);
  assert.ok(p.firstPurchase instanceof Date && p.lastPurchase instanceof Date);
  assert.equal(p.lastPurchase.toISOString(), "2011-11-15T14:22:00.000Z");
  assert.ok(p.firstPurchase < p.lastPurchase);
  assert.ok(Math.abs(p.daysSinceLastPurchase - (sampleNow - p.lastPurchase) / 86_400_000) < 1e-9);
  assert.equal(p.medianDaysBetweenOrders, 21);
  assert.ok(p.expectedNextPurchase instanceof Date);
  for (const x of [p.churnRisk, p.probNoPurchase12m]) assert.ok(x >= 0 && x <= 1);
  assert.ok(p.expectedOrders12m > 0 && p.expectedValue12m > 0);
  assert.equal(p.favouriteProducts.length, 5);
  for (const f of p.favouriteProducts) {
    assert.equal(f.name, sample.product(f.product).name);
    assert.ok(f.weight > 0);
  }
  assert.deepEqual(p.favouriteCategories, []);
  // as of a date before the first purchase: no orders yet
  const before = sample.profile(CUSTOMER, "2010-01-01");
  assert.equal(before.orders, 0);
  assert.equal(before.segment, "new");
  assert.equal(before.lastPurchase, null);
  assert.equal(before.daysSinceLastPurchase, null);
});

test("times: Date, epoch milliseconds and date strings are the same instant", () => {
  const a = sample.profile(CUSTOMER, sampleNow);
  const b = sample.profile(CUSTOMER, sampleNow.getTime());
  const c = sample.profile(CUSTOMER, "2011-12-10 10:46:00");
  const d = sample.profile(CUSTOMER, "2011-12-10T10:46:00Z");
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  assert.deepEqual(d, a);
});

test("times at the ends of the Date range: null where a Date cannot hold the time", () => {
  const MAX = 8.64e15; // the largest |epoch milliseconds| a Date holds
  const DAY = 86_400_000;
  const e = new Engine();
  const buy = (customer, timestamp) => ({ customer, product: "mug", timestamp, quantity: 1, unitPrice: 2 });
  e.recordPurchases([buy("a", -MAX), buy("a", MAX), buy("b", MAX - 19 * DAY), buy("b", MAX - 9 * DAY)]);
  assert.throws(() => e.recordPurchase(buy("c", MAX + 1000)), { code: "InvalidArgument" });
  assert.equal(e.lastPurchaseAt.getTime(), MAX);
  const a = e.profile("a", MAX);
  assert.equal(a.firstPurchase.getTime(), -MAX);
  assert.equal(a.lastPurchase.getTime(), MAX);
  assert.equal(a.medianDaysBetweenOrders, 2e8);
  // the last purchase plus 2e8 days lies beyond the range: null, not an Invalid Date
  assert.equal(a.expectedNextPurchase, null);
  // b's next purchase, 10 days after the last, lies a day beyond the range; d's, two days
  // earlier, a day inside it
  const b = e.profile("b", MAX);
  assert.equal(b.medianDaysBetweenOrders, 10);
  assert.equal(b.expectedNextPurchase, null);
  e.recordPurchase(buy("d", MAX - 21 * DAY));
  e.recordPurchase(buy("d", MAX - 11 * DAY));
  assert.equal(e.profile("d", MAX).expectedNextPurchase.getTime(), MAX - DAY);
  for (const p of [a, b, e.profile("d", MAX)]) {
    for (const v of Object.values(p)) {
      if (v instanceof Date) assert.ok(!Number.isNaN(v.getTime()), "no Invalid Date");
    }
  }
  e.free();
});

test("greet per channel, with the customer's first name", () => {
  const e = Engine.fromBytes(modelBytes());
  e.upsertCustomer({ id: CUSTOMER, firstName: "Ada", locale: "en-GB", channel: "email" });
  for (const channel of ["web", "email", "sms", "app", "in-store"]) {
    const g = e.greet(CUSTOMER, channel, sampleNow);
    assert.equal(g.customer, CUSTOMER);
    assert.equal(g.channel, channel);
    assert.equal(g.generic, false);
    assert.ok(g.text.includes("Ada"), `${channel}: ${g.text}`);
    assert.ok(!g.text.includes("{"), "every slot is filled");
    assert.equal(typeof g.variant, "string");
    assert.equal(g.why.segment, "champion");
    assert.equal(typeof g.why.text, "string");
    assert.ok(Array.isArray(g.runnersUp));
    for (const r of g.runnersUp) assert.ok(r.score <= g.score);
    if (channel === "sms") assert.ok(g.text.length <= 160);
  }
  // an unknown visitor gets the shipped set's generic hello of each channel
  const hellos = {
    web: "Hello there, welcome to our shop!",
    email: "Hello there, here is what&#39;s new this week.",
    sms: "Hi there, thanks for shopping with us.",
    app: "Good morning, there!",
    "in-store": "Welcome in, friend! Ask us anything.",
  };
  for (const [channel, text] of Object.entries(hellos)) {
    const stranger = e.greet("nobody", channel, sampleNow);
    assert.equal(stranger.generic, true);
    assert.equal(stranger.variant, `hello-${channel}`);
    assert.equal(stranger.text, text, "web and e-mail texts are HTML-escaped");
    assert.equal(stranger.why.segment, null);
  }
  assert.equal(typeof e.greet(CUSTOMER, "web").text, "string", "`at` defaults to now");
  e.free();
});

test("greetings learn from variants, engagement and feedback", () => {
  const e = Engine.fromBytes(modelBytes());
  e.upsertCustomer({ id: CUSTOMER, firstName: "Ada" });
  const added = e.addGreetingVariants([
    { id: "vip-web", template: "Hi {first_name|there}, your VIP corner is ready.", channels: ["web"], boost: 5 },
  ]);
  assert.equal(added, 1);
  const g = e.greet(CUSTOMER, "web", sampleNow);
  assert.equal(g.variant, "vip-web");
  assert.equal(g.text, "Hi Ada, your VIP corner is ready.");
  assert.equal(g.why.boost, 5);
  // the vector is learned from 50 impressions and 5 clicks of known customers (the defaults)
  for (const id of e.customerIds().slice(0, 50)) e.recordEngagement(id, "vip-web", "impression");
  for (let i = 0; i < 4; i++) e.recordEngagement(CUSTOMER, "vip-web", "click");
  assert.notEqual(e.greet(CUSTOMER, "web", sampleNow).why.source, "learned");
  e.recordEngagement(CUSTOMER, "vip-web", "click");
  assert.equal(e.greet(CUSTOMER, "web", sampleNow).why.source, "learned");
  assert.equal(e.removeGreetingVariant("vip-web"), true);
  assert.equal(e.removeGreetingVariant("vip-web"), false);
  assert.notEqual(e.greet(CUSTOMER, "web", sampleNow).variant, "vip-web");

  // a JSON string works too
  assert.equal(
    e.addGreetingVariants('[{"id": "hello-json", "template": "Hello from JSON, {first_name|you}."}]'),
    1,
  );

  // poor feedback switches the customer to service recovery
  e.recordFeedback(CUSTOMER, "nps", 3, sampleNow);
  const sorry = e.greet(CUSTOMER, "sms", sampleNow);
  assert.equal(sorry.why.kind, "service-recovery");
  assert.ok(sorry.text.includes("Ada"));
  e.recordFeedback(CUSTOMER, "csat", 5, new Date(sampleNow.getTime() + 60_000));
  assert.notEqual(
    e.greet(CUSTOMER, "sms", new Date(sampleNow.getTime() + 120_000)).why.kind,
    "service-recovery",
  );
  e.free();
});

test("greeting settings: shop name, length limits, runners-up", () => {
  const e = Engine.fromBytes(modelBytes());
  const defaults = e.greetingSettings();
  assert.equal(defaults.defaultLocale, "en");
  assert.equal(defaults.shopName, null);
  assert.equal(defaults.smsMaxChars, 160);
  assert.equal(defaults.runnersUp, 3);
  e.upsertCustomer({ id: CUSTOMER, firstName: "Ada" });
  e.addGreetingVariants([
    {
      id: "welcome",
      template: "Welcome back to {shop_name|our shop}, {first_name|friend}! We kept your favourites warm.",
      boost: 50,
    },
  ]);
  assert.equal(
    e.greet(CUSTOMER, "web", sampleNow).text,
    "Welcome back to our shop, Ada! We kept your favourites warm.",
  );
  e.setGreetingSettings({ shopName: "Tea & Co", smsMaxChars: 40, runnersUp: 1 });
  assert.equal(e.greetingSettings().shopName, "Tea & Co");
  assert.equal(e.greetingSettings().clickAlpha, defaults.clickAlpha, "the rest stay");
  // escaped for the web, cut to the new SMS limit
  const web = e.greet(CUSTOMER, "web", sampleNow);
  assert.equal(web.text, "Welcome back to Tea &amp; Co, Ada! We kept your favourites warm.");
  assert.ok(web.runnersUp.length <= 1);
  const sms = e.greet(CUSTOMER, "sms", sampleNow);
  assert.ok([...sms.text].length <= 40, sms.text);
  // on a word boundary, ending in three full stops (GSM 7-bit), not "…"
  assert.equal(sms.text, "Welcome back to Tea & Co, Ada! We...");
  // an explicit undefined is an omitted field: the shop name stays, like every other setting
  e.setGreetingSettings({ shopName: undefined, runnersUp: undefined, smsMaxChars: 60 });
  assert.equal(e.greetingSettings().shopName, "Tea & Co");
  assert.equal(e.greetingSettings().runnersUp, 1);
  assert.equal(e.greetingSettings().smsMaxChars, 60);
  assert.equal(e.greet(CUSTOMER, "web", sampleNow).text, web.text);
  // null clears the shop name again
  e.setGreetingSettings({ shopName: null });
  assert.equal(e.greetingSettings().shopName, null);
  assert.match(e.greet(CUSTOMER, "web", sampleNow).text, /^Welcome back to our shop, Ada!/);

  // SMS and app text (runners-up too) is cut on a word boundary to the channel's limit as set,
  // and runnersUp caps the alternatives
  e.setGreetingSettings({ smsMaxChars: 30, appMaxChars: 25, runnersUp: 2 });
  assert.equal(e.greet(CUSTOMER, "sms", sampleNow).text, "Welcome back to our shop...");
  assert.equal(e.greet(CUSTOMER, "app", sampleNow).text, "Welcome back to our…");
  for (const [channel, limit] of [["sms", 30], ["app", 25]]) {
    const g = e.greet(CUSTOMER, channel, sampleNow);
    assert.equal(g.runnersUp.length, 2);
    for (const r of g.runnersUp) assert.ok([...r.text].length <= limit, r.text);
  }
  e.setGreetingSettings({ runnersUp: 0 });
  assert.deepEqual(e.greet(CUSTOMER, "web", sampleNow).runnersUp, []);
  // the SMS limit is the setting, not a fixed 160
  const long = `Hello {first_name|friend}! ${"Our new teas and cups are in, come and see them. ".repeat(5)}`;
  e.addGreetingVariants([{ id: "long", template: long, boost: 100 }]);
  e.setGreetingSettings({ smsMaxChars: 400 });
  const uncut = e.greet(CUSTOMER, "sms", sampleNow);
  assert.equal(uncut.variant, "long");
  assert.ok([...uncut.text].length > 160 && !uncut.text.endsWith("..."), uncut.text);
  e.setGreetingSettings({ smsMaxChars: 160 });
  const cut = e.greet(CUSTOMER, "sms", sampleNow).text;
  // the sentence's full stop gives way to the ending: " them...", not " them...."
  assert.ok([...cut].length <= 160 && cut.endsWith(" them..."), cut);
  e.free();
});

test("observe: a purchase re-ranks at once and repeats are recognised", () => {
  const e = Engine.fromBytes(modelBytes());
  const before = e.recommend(CUSTOMER, { k: 5 });
  const bought = before.products[0];
  const purchase = {
    customer: CUSTOMER,
    product: bought,
    timestamp: sampleNow,
    quantity: 2,
    unitPrice: e.product(bought).price,
    order: "web-1",
  };
  assert.equal(e.observe(purchase), true);
  assert.equal(e.observe(purchase), false, "an exact repeat is not counted twice");
  const after = e.recommend(CUSTOMER, { k: 5 });
  assert.ok(!after.products.includes(bought));
  assert.notDeepEqual(Array.from(after.scores), Array.from(before.scores.slice(1)));
  assert.equal(e.purchaseCount, sample.purchaseCount + 1);
  assert.equal(e.profile(CUSTOMER, sampleNow).orders, 21);

  // a brand-new customer's first purchase gives personal recommendations, no retraining
  assert.equal(e.recommend("first-timer").fallback, true);
  e.observe({ customer: "first-timer", product: "85123A", timestamp: sampleNow, quantity: 1, unitPrice: 2.55 });
  const fresh = e.recommend("first-timer", { k: 3 });
  assert.equal(fresh.fallback, false);
  assert.deepEqual(fresh.because, ["85123A", "85123A", "85123A"]);
  assert.equal(e.customerCount, 617);
  e.free();
});

test("train a small model in the page, save and load it", () => {
  const e = teaAndCoffeeShop();
  assert.equal(e.isTrained, false);
  const report = e.train();
  assert.equal(report.customers, 12);
  assert.equal(report.products, 8);
  assert.equal(report.interactions, 36);
  assert.ok(report.losses instanceof Float64Array);
  assert.equal(report.losses.length, 15);
  assert.ok(report.losses[14] < report.losses[0], "the loss goes down");
  assert.equal(e.isTrained, true);

  // t1 has every tea product but tea-cups
  const r = e.recommend("t1", { k: 1 });
  assert.deepEqual(r.products, ["tea-cups"]);
  assert.ok(["green-tea", "black-tea", "teapot"].includes(r.because[0]));
  assert.equal(e.recommend("t1", { k: 20 }).products.length, 8 - 3);
  // a coffee drinker asking within the tea category gets only tea
  const tea = e.recommend("c7", { category: "tea" });
  assert.ok(tea.products.length > 0);
  assert.ok(tea.products.every((p) => TEA.includes(p)));
  // similar products stay within their kind
  assert.ok(e.similar("teapot", 3).products.every((p) => TEA.includes(p)));
  assert.ok(e.similar("espresso", 3).products.every((p) => COFFEE.includes(p)));

  const again = Engine.fromBytes(e.toBytes());
  assert.deepEqual(again.recommend("t2"), e.recommend("t2"));
  assert.deepEqual(again.similar("grinder", 3), e.similar("grinder", 3));
  // bulk records reach the model through refreshCustomer
  again.recordPurchase({ customer: "t2", product: "tea-cups", timestamp: "2024-01-01", quantity: 1, unitPrice: 4 });
  again.refreshCustomer("t2");
  assert.ok(!again.recommend("t2", { k: 20 }).products.includes("tea-cups"));
  e.free();
  again.free();
});

test("train reports each iteration to onProgress", () => {
  const e = teaAndCoffeeShop();
  const seen = [];
  const report = e.train((p) => seen.push(p));
  assert.deepEqual(
    seen.map((p) => [p.iteration, p.iterations]),
    Array.from({ length: 15 }, (_, i) => [i + 1, 15]),
  );
  // the callback sees the same losses the report returns
  assert.deepEqual(seen.map((p) => p.loss), Array.from(report.losses));
  assert.ok(seen.every((p) => typeof p.elapsedMs === "number" && p.elapsedMs >= 0));

  // a throwing callback is not called again; its exception comes back after training
  const again = teaAndCoffeeShop();
  let calls = 0;
  const stop = new Error("stop");
  assert.throws(
    () =>
      again.train(() => {
        calls += 1;
        throw stop;
      }),
    (err) => err === stop,
  );
  assert.equal(calls, 1);
  assert.equal(again.isTrained, true);
  assert.deepEqual(again.recommend("t1"), e.recommend("t1"));
  e.free();
  again.free();
});

test("feedbackReport: NPS, CSAT, CES and retention per period", () => {
  const e = teaAndCoffeeShop();
  // purchases fall on days 0–36 of 1970: customers c0–c10 buy in January, c10 and c11 in
  // February (c10 on days 30, 31 and 33), so January keeps 1 of its 11 customers
  const empty = e.feedbackReport();
  assert.equal(empty.nps, null);
  assert.equal(empty.csat, null);
  assert.equal(empty.ces, null);
  assert.equal(empty.retention.length, 1);
  const [jan] = empty.retention;
  assert.equal(jan.period, "1970-01");
  assert.equal(jan.start.toISOString(), "1970-01-01T00:00:00.000Z");
  assert.equal(jan.active, 11);
  assert.equal(jan.retained, 1);
  assert.equal(jan.retentionRate, 1 / 11);
  assert.equal(jan.churnRate, 1 - 1 / 11);
  // the whole log is in one quarter, which has no successor to retain into
  assert.deepEqual(e.feedbackReport({ period: "quarter" }).retention, []);

  const day = (d) => d * 86_400_000;
  [10, 9, 7, 3].forEach((v, i) => e.recordFeedback(`t${i}`, "nps", v, day(40 + i)));
  [5, 4, 2].forEach((v, i) => e.recordFeedback(`c${i + 6}`, "csat", v, day(50 + i)));
  e.recordFeedback("t4", "ces", 2, day(60));
  e.recordFeedback("t5", "ces", 6, day(61));
  const r = e.feedbackReport();
  // NPS = 100 · (promoters − detractors) / answers = 100 · (2 − 1) / 4
  assert.deepEqual([r.promoters, r.passives, r.detractors], [2, 1, 1]);
  assert.equal(r.nps, 25);
  // CSAT = % of answers 4 or 5; CES = mean answer
  assert.equal(r.csatResponses, 3);
  assert.equal(r.csat, (100 * 2) / 3);
  assert.equal(r.cesResponses, 2);
  assert.equal(r.ces, 4);

  // a window keeps the answers given in [from, to): the first two NPS answers only; January
  // starts before it, so no retention row
  const w = e.feedbackReport({ from: day(40), to: new Date(day(42)) });
  assert.deepEqual([w.promoters, w.passives, w.detractors, w.nps], [2, 0, 0, 100]);
  assert.equal(w.csat, null);
  assert.deepEqual(w.retention, []);
  // an open end: everything from day 50 on
  const late = e.feedbackReport({ from: day(50) });
  assert.equal(late.nps, null);
  assert.equal(late.csatResponses + late.cesResponses, 5);
  e.free();
});

test("readCsv: Online Retail layout with its cleaning rules, and custom columns", () => {
  const e = new Engine();
  const csv = [
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom",
    "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom",
    "536370,POST,POSTAGE,3,12/1/2010 8:45,18,12583,France",
    "536371,22086,PAPER CHAIN KIT,80,not a date,2.55,13748,United Kingdom",
    "536372,22632,HAND WARMER,6,12/1/2010 9:01,1.85,,United Kingdom",
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
  ].join("\n");
  const r = e.readCsv(csv);
  assert.equal(r.rowsRead, 7);
  assert.equal(r.kept, 2);
  assert.equal(r.dropped, 5);
  assert.equal(r.cancelled, 1);
  assert.equal(r.nonProduct, 1);
  assert.equal(r.unparsable, 1);
  assert.deepEqual(r.unparsableLines, [6]);
  assert.match(r.firstUnparsable, /^line 6: /);
  assert.equal(r.missingCustomer, 1);
  assert.equal(r.duplicates, 1);
  assert.equal(e.product("85123A").name, "WHITE HANGING HEART T-LIGHT HOLDER");
  assert.equal(e.product("71053").price, 3.39);

  // bytes work as well as text
  const again = new Engine();
  assert.deepEqual(again.readCsv(new TextEncoder().encode(csv)), r);
  again.free();

  const custom = e.readCsv("who;what;when;kind\nann;mug;2024-03-01;kitchen\nbob;mug;2024-03-02;kitchen\n", {
    layout: { customer: "who", product: "what", timestamp: "when", category: "kind" },
    delimiter: ";",
  });
  assert.equal(custom.kept, 2);
  // the reader upper-cases product ids (stock codes), in every layout
  assert.equal(e.product("MUG").category, "kitchen");
  assert.equal(e.customerCount, 3);
  e.free();
});

test("co-purchase re-rank: off by default, set, saved, off again", () => {
  const e = Engine.fromBytes(modelBytes());
  assert.deepEqual(e.blend(), { weight: 0, neighbours: 50, pool: 50 });
  const co = Engine.coPurchaseBlend();
  assert.equal(co.neighbours, 50);
  assert.equal(co.pool, 50);
  assert.ok(Math.abs(co.weight - 0.2) < 1e-6);
  const off = e.recommend(CUSTOMER, { k: 10 });
  const pool = e.recommend(CUSTOMER, { k: 50 }).products;
  e.setBlend(co);
  const on = e.recommend(CUSTOMER, { k: 10 });
  assert.equal(on.products.length, 10);
  assert.notDeepEqual(on.scores, off.scores, "blended scores");
  for (let i = 1; i < 10; i++) assert.ok(on.scores[i] <= on.scores[i - 1], "best first");
  // re-ranked from the 50 best factor scores
  assert.ok(on.products.every((p) => pool.includes(p)));
  // the same as native: saved with the engine
  const back = Engine.fromBytes(e.toBytes());
  assert.deepEqual(back.blend(), e.blend());
  assert.deepEqual(back.recommend(CUSTOMER, { k: 10 }), on);
  back.free();
  // a subset changes only what it names
  e.setBlend({ pool: 80 });
  assert.equal(e.blend().pool, 80);
  assert.equal(e.blend().neighbours, 50);
  e.setBlend({ weight: 0, pool: 50 });
  assert.deepEqual(e.recommend(CUSTOMER, { k: 10 }), off);
  e.free();
});
