// Type-checked by `tsc -p test/tsconfig.json` (never run): the generated declarations accept
// correct use of the API and reject misuse.
import init, {
  Engine,
  FactorTable,
  type FeedbackReport,
  type Greeting,
  type Profile,
  type RapportError,
  type Recommendations,
} from "../pkg/rapport_wasm.js";

export async function demo(bytes: Uint8Array, now: Date): Promise<string[]> {
  await init();
  const engine = Engine.fromBytes(bytes);
  const recs: Recommendations = engine.recommend("12415", { k: 5, exclude: ["85123A"] });
  const scores: Float32Array = recs.scores;
  const because: (string | null)[] = recs.because;
  const greeting: Greeting = engine.greet("12415", "web", now);
  const kind: "standard" | "win-back" | "post-purchase" | "replenishment" | "service-recovery" =
    greeting.why.kind;
  const profile: Profile = engine.profile("12415", "2011-12-10");
  const last: Date | null = profile.lastPurchase;
  engine.observe({ customer: "12415", product: recs.products[0], timestamp: now, quantity: 1, unitPrice: 2.5 });
  engine.upsertCustomer({ id: "12415", firstName: "Ada", channel: "email" });
  const fresh = new Engine({ factors: 16, iterations: 5 });
  fresh.recordPurchases([{ customer: "a", product: "b", timestamp: 0, quantity: 1, unitPrice: 1 }]);
  const losses: Float64Array = fresh.train((p) => console.log(p.iteration, p.loss)).losses;
  const report: FeedbackReport = engine.feedbackReport({ period: "quarter", from: now });
  const nps: number | null = report.nps;
  engine.setGreetingSettings({ shopName: "Tea & Co", smsMaxChars: 140 });
  const limit: number = engine.greetingSettings().smsMaxChars;
  const start: Date | undefined = report.retention[0]?.start;
  const table = FactorTable.random(100, 8, 1);
  const best: Uint32Array = table.topK(new Float32Array(8), 3).items;
  try {
    engine.similar("nope");
  } catch (e) {
    const err = e as RapportError;
    const code: "UnknownProduct" | string = err.code;
    void code;
  }

  // @ts-expect-error: "fax" is not a Channel
  engine.greet("12415", "fax");
  // @ts-expect-error: options are checked (no `kk` field)
  engine.recommend("12415", { kk: 3 });
  // @ts-expect-error: a purchase needs a quantity and a unit price
  engine.observe({ customer: "a", product: "b", timestamp: now });
  // @ts-expect-error: settings are checked (no `shopname` field)
  engine.setGreetingSettings({ shopname: "x" });
  engine.setBlend({ ...Engine.coPurchaseBlend(), pool: 80 });
  const pool: number = engine.blend().pool;
  // @ts-expect-error: blend settings are checked (no `neighbors` field)
  engine.setBlend({ neighbors: 10 });
  // @ts-expect-error: "week" is not a period
  engine.feedbackReport({ period: "week" });
  // @ts-expect-error: scores are a Float32Array, not a number[]
  const wrong: number[] = recs.scores;

  void [scores, because, kind, last, losses, nps, limit, start, best, wrong, pool];
  return recs.products;
}
