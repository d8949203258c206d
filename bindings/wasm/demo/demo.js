// The demo page: loads the model file trained and saved by native rapport, greets the chosen
// customer, shows their top 5 with reasons, and re-ranks after a simulated purchase. Everything
// runs in the page; the only network requests are the module and the model file.
import init, { Engine } from "../pkg/rapport_wasm.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let engine;
let now; // the demo's clock: one day after the latest purchase in the model
let purchases = 0;

function show(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

function render() {
  const customer = $("customer").value;
  const channel = $("channel").value;
  const firstName = $("first-name").value.trim();
  engine.upsertCustomer({ id: customer, firstName: firstName || null });

  const g = engine.greet(customer, channel, now);
  // Web and e-mail texts come HTML-escaped from the library; the other channels are plain text.
  if (channel === "web" || channel === "email") $("greeting").innerHTML = g.text;
  else $("greeting").textContent = g.text;
  $("why").textContent = `${g.variant}: ${g.why.text}`;

  const p = engine.profile(customer, now);
  $("profile").textContent =
    `Segment ${p.segment} · ${p.orders} orders · spend ${p.totalSpend.toFixed(2)} · ` +
    `churn risk ${p.churnRisk.toFixed(3)} · RFM ${p.rfm.recency}${p.rfm.frequency}${p.rfm.monetary}`;

  const recs = engine.recommend(customer, { k: 5 });
  const list = $("recs");
  list.replaceChildren(
    ...recs.products.map((id, i) => {
      const li = document.createElement("li");
      li.dataset.product = id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = recs.names[i];
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = recs.scores[i].toFixed(3);
      const reason = document.createElement("span");
      reason.className = "reason";
      reason.textContent = recs.reasons[i];
      li.append(name, score, reason);
      return li;
    }),
  );
  list.dataset.version = String(Number(list.dataset.version) + 1);
  list.dataset.fallback = String(recs.fallback);
  $("buy").disabled = recs.products.length === 0;
}

function buyTop() {
  const top = $("recs").querySelector("li");
  if (!top) return;
  const product = engine.product(top.dataset.product);
  purchases += 1;
  engine.observe({
    customer: $("customer").value,
    product: product.id,
    timestamp: now,
    quantity: 1,
    unitPrice: product.price ?? 0,
    order: `demo-${purchases}`,
  });
  $("log").textContent = `Bought ${product.name}: recommendations updated in the page.`;
  render();
}

function guarded(f) {
  return () => {
    try {
      f();
    } catch (e) {
      show(`${e.name} (${e.code ?? "no code"}): ${e.message}`, true);
    }
  };
}

async function main() {
  await init();
  const response = await fetch("./sample.rapport");
  if (!response.ok) throw new Error(`fetching the model: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const t0 = performance.now();
  engine = Engine.fromBytes(bytes);
  const loadMs = performance.now() - t0;
  now = new Date(engine.lastPurchaseAt.getTime() + 24 * 3600 * 1000);

  const ids = engine.customerIds().sort();
  const wanted = params.get("customer") ?? "12415";
  $("customer").replaceChildren(
    ...ids.map((id) => new Option(id, id, false, id === wanted)),
  );
  if (params.has("name")) $("first-name").value = params.get("name");
  if (params.has("channel")) $("channel").value = params.get("channel");

  show(
    `Model: ${engine.customerCount} customers, ${engine.productCount} products, ` +
      `${(bytes.length / 1e6).toFixed(1)} MB loaded in ${loadMs.toFixed(0)} ms · ` +
      `shop clock ${now.toISOString().slice(0, 16).replace("T", " ")} UTC`,
  );
  document.body.dataset.ready = "true";

  for (const id of ["customer", "channel", "first-name"]) {
    $(id).addEventListener("change", guarded(render));
  }
  $("buy").addEventListener("click", guarded(buyTop));
  guarded(render)();
}

main().catch((e) => show(`Could not start: ${e.message}`, true));
