use super::*;
use crate::als::AlsConfig;
use crate::catalog::Product;
use crate::engine::EngineConfig;
use crate::history::Purchase;

const DAY_S: i64 = 86_400;

fn t(day: i64) -> Timestamp {
    Timestamp(day * DAY_S + 10 * 3600) // 10:00 UTC
}

fn buy(e: &mut Engine, c: &str, p: &str, day: i64) {
    e.record_purchase(&Purchase {
        customer: c.into(),
        product: p.into(),
        timestamp: t(day),
        quantity: 1.0,
        unit_price: 2.0,
        order: None,
    })
    .unwrap();
}

const TEA: [&str; 5] = ["green-tea", "black-tea", "teapot", "tea-cups", "oolong"];
const COFFEE: [&str; 5] = ["espresso", "grinder", "mocha-pot", "coffee-mugs", "filter"];

/// Tea drinkers t0–t9 and coffee drinkers c0–c9, buying on days 100–130; trained.
fn shop() -> Engine {
    let mut e = Engine::new(EngineConfig {
        als: AlsConfig {
            factors: 8,
            iterations: 15,
            regularization: 0.5,
            alpha: 5.0,
            threads: 1,
            ..Default::default()
        },
        ..Default::default()
    });
    for c in 0..20 {
        let (name, set) = if c < 10 {
            (format!("t{c}"), TEA)
        } else {
            (format!("c{}", c - 10), COFFEE)
        };
        for (j, p) in set.iter().enumerate() {
            if (c + j) % 5 != 0 {
                buy(&mut e, &name, p, 100 + (c + 3 * j) as i64);
            }
        }
        e.upsert_customer(CustomerInfo {
            id: name.clone(),
            first_name: Some(format!("Name{c}")),
            locale: None,
            channel: None,
        })
        .unwrap();
    }
    for (set, cat) in [(TEA, "tea"), (COFFEE, "coffee")] {
        for p in set {
            e.upsert_product(Product {
                id: p.into(),
                name: p.replace('-', " "),
                category: Some(cat.into()),
                price: Some(4.0),
                in_stock: true,
            })
            .unwrap();
        }
    }
    e.train().unwrap();
    e
}

fn v(id: &str, template: &str) -> Variant {
    Variant {
        id: id.into(),
        template: template.into(),
        ..Default::default()
    }
}

fn cat(id: &str, category: &str) -> Variant {
    Variant {
        category: Some(category.into()),
        ..v(
            id,
            &format!("{{first_name|Hi}}, new {category} for you: {{product}}"),
        )
    }
}

#[test]
fn template_errors_are_rejected_at_registration_with_position() {
    let mut e = Engine::default();
    let err = e
        .add_greeting_variant(v("a", "Hi {frist_name}"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Template { variant, position: 4, message } if variant == "a" && message.contains("unknown slot")),
        "{err}"
    );
    assert!(matches!(
        e.add_greeting_variant(v("b", "Hi {first_name")),
        Err(Error::Template { position: 3, .. })
    ));
    assert!(matches!(
        e.add_greeting_variant(v("c", "  ")),
        Err(Error::Template { position: 0, .. })
    ));
    assert!(matches!(
        e.add_greeting_variant(v("", "Hi")),
        Err(Error::InvalidVariant { .. })
    ));
    assert!(e.greetings().is_empty());
}

#[test]
fn bad_variants_and_json_are_typed_errors() {
    let mut e = shop();
    // malformed JSON, unknown field: nothing registered
    for bad in [
        "[{\"id\": \"x\", \"template\": \"Hi\"",
        "{\"id\": \"x\"}",
        "[{\"id\": \"x\", \"template\": \"Hi\", \"colour\": \"red\"}]",
        "[{\"id\": \"x\", \"template\": \"Hi\", \"kind\": \"upsell\"}]",
    ] {
        assert!(
            matches!(
                e.add_greeting_variants_json(bad),
                Err(Error::InvalidVariant { .. })
            ),
            "{bad}"
        );
    }
    // all or none
    let json = r#"[{"id": "ok", "template": "Hi"}, {"id": "bad", "template": "Hi {nope}"}]"#;
    assert!(matches!(
        e.add_greeting_variants_json(json),
        Err(Error::Template { .. })
    ));
    assert!(e.greetings().is_empty());
    let dup = r#"[{"id": "d", "template": "Hi"}, {"id": "d", "template": "Hey"}]"#;
    assert!(matches!(
        e.add_greeting_variants_json(dup),
        Err(Error::InvalidVariant { .. })
    ));
    let mut unknown_product = v("p", "Try {product}");
    unknown_product.featured_products = vec!["nope".into()];
    assert!(matches!(
        e.add_greeting_variant(unknown_product),
        Err(Error::UnknownProduct(_))
    ));
    assert!(matches!(
        e.add_greeting_variant(cat("w", "wine")),
        Err(Error::InvalidVariant { .. })
    ));
    let selling_apology = Variant {
        kind: GreetingKind::ServiceRecovery,
        ..cat("sorry", "tea")
    };
    assert!(matches!(
        e.add_greeting_variant(selling_apology),
        Err(Error::InvalidVariant { .. })
    ));
    let bad_hours = Variant {
        hours: Some(Hours { from: 5, to: 5 }),
        ..v("h", "Hi")
    };
    assert!(matches!(
        e.add_greeting_variant(bad_hours),
        Err(Error::InvalidVariant { .. })
    ));
    let bad_audience = Variant {
        audience: Audience {
            min_orders: Some(5),
            max_orders: Some(1),
            ..Default::default()
        },
        ..v("aud", "Hi")
    };
    assert!(matches!(
        e.add_greeting_variant(bad_audience),
        Err(Error::InvalidVariant { .. })
    ));
    // an empty variant set is a typed error
    assert!(matches!(
        e.greet("t1", Channel::Web, t(140)),
        Err(Error::Empty(_))
    ));
    assert!(matches!(
        e.record_engagement("t1", "nope", Engagement::Click),
        Err(Error::UnknownVariant(_))
    ));
}

#[test]
fn default_set_loads_and_greets_every_channel() {
    let mut e = shop();
    let n = e.load_default_greetings().unwrap();
    assert_eq!(n, e.greetings().len());
    assert!(n >= 15);
    e.refresh_greetings(t(131)).unwrap();
    for ch in Channel::ALL {
        for c in ["t1", "c3", "stranger"] {
            let g = e.greet(c, ch, t(131)).unwrap();
            assert!(!g.text.is_empty() && !g.text.contains('{'), "{g:?}");
            assert_eq!(g.generic, c == "stranger");
            assert!(!g.why.built_in, "{g:?}");
        }
    }
}

#[test]
fn variant_without_a_vector_source_scores_its_prior() {
    let mut e = shop();
    e.add_greeting_variant(v("plain", "Hello {first_name|there}"))
        .unwrap();
    assert_eq!(
        e.greetings().vector_source("plain"),
        Some(VectorSource::None)
    );
    let g = e.greet("t1", Channel::Web, t(131)).unwrap();
    assert_eq!(g.variant, "plain");
    assert_eq!(g.why.affinity, 0.0);
    assert_eq!(g.score, 0.0);
    assert_eq!(g.text, "Hello Name1");
}

#[test]
fn category_vectors_follow_taste_and_ties_break_by_id() {
    let mut e = shop();
    e.add_greeting_variants(vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")])
        .unwrap();
    assert_eq!(
        e.greetings().vector_source("tea-offer"),
        Some(VectorSource::Category)
    );
    let g = e.greet("t2", Channel::Email, t(131)).unwrap();
    assert_eq!(g.variant, "tea-offer", "{g:?}");
    assert!(g.products.iter().all(|p| TEA.contains(&p.as_str())));
    assert_eq!(g.runners_up[0].variant, "coffee-offer");
    let g = e.greet("c2", Channel::Email, t(131)).unwrap();
    assert_eq!(g.variant, "coffee-offer");
    // two variants with identical vectors and priors: the smaller id wins
    e.add_greeting_variants(vec![v("b-same", "Hello"), v("a-same", "Hello")])
        .unwrap();
    let g = e.greet("stranger", Channel::Web, t(131)).unwrap();
    assert_eq!(g.variant, "a-same");
    assert_eq!(g.runners_up[0].variant, "b-same");
}

#[test]
fn missing_slot_values_make_a_variant_ineligible() {
    let mut e = shop();
    e.add_greeting_variants(vec![
        v("a-needs-name", "Hi {first_name},"),
        v("z-generic", "Hi there,"),
    ])
    .unwrap();
    buy(&mut e, "anon", "teapot", 120);
    let g = e.greet("anon", Channel::Sms, t(131)).unwrap();
    assert_eq!(g.variant, "z-generic");
    assert!(g.runners_up.is_empty());
    let g = e.greet("t1", Channel::Sms, t(131)).unwrap();
    assert_eq!(g.text, "Hi Name1,");
}

#[test]
fn escaping_control_characters_and_sms_length() {
    let mut e = shop();
    e.upsert_customer(CustomerInfo {
        id: "t3".into(),
        first_name: Some("<b>Bo\u{7}b</b>\n & 'co'".into()),
        locale: None,
        channel: None,
    })
    .unwrap();
    e.add_greeting_variant(v("hi", "Hi {first_name}!")).unwrap();
    let web = e.greet("t3", Channel::Web, t(131)).unwrap();
    assert_eq!(web.text, "Hi &lt;b&gt;Bo b&lt;/b&gt; &amp; &#39;co&#39;!");
    let sms = e.greet("t3", Channel::Sms, t(131)).unwrap();
    assert_eq!(sms.text, "Hi <b>Bo b</b> & 'co'!");
    assert!(!sms.text.chars().any(char::is_control));
    // a name that is only control characters has no value
    e.upsert_customer(CustomerInfo {
        id: "t4".into(),
        first_name: Some("\u{0}\u{1b}".into()),
        ..Default::default()
    })
    .unwrap();
    e.add_greeting_variant(v("zz", "Hello")).unwrap();
    assert_eq!(e.greet("t4", Channel::Sms, t(131)).unwrap().variant, "zz");

    let long = "word ".repeat(60);
    e.add_greeting_variant(Variant {
        boost: 5.0,
        ..v("long", &format!("Hi {{first_name|there}}, {long}end"))
    })
    .unwrap();
    let sms = e.greet("t1", Channel::Sms, t(131)).unwrap();
    assert_eq!(sms.variant, "long");
    assert!(sms.text.chars().count() <= 160, "{}", sms.text.len());
    // three full stops, so an ASCII greeting stays in the GSM 7-bit alphabet
    assert!(sms.text.ends_with("word..."), "{}", sms.text);
    assert!(sms.text.is_ascii(), "{}", sms.text);
    let store = e.greet("t1", Channel::InStore, t(131)).unwrap();
    assert!(store.text.ends_with("end"));
}

/// A learning variant's vector after each of many events (impressions, clicks and
/// conversions; confidences that rise and fall, so rank-one updates and downdates of its
/// factor, across several refactorisations) equals a solve from scratch.
#[test]
fn many_engagement_events_match_a_solve_from_scratch() {
    let mut e = shop();
    e.add_greeting_variants(vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")])
        .unwrap();
    let customers = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"];
    for c in customers {
        for _ in 0..7 {
            e.record_engagement(c, "coffee-offer", Engagement::Impression)
                .unwrap();
        }
        e.record_engagement(c, "coffee-offer", Engagement::Click)
            .unwrap();
    }
    let i = e.greetings().find("coffee-offer").unwrap();
    assert!(matches!(
        e.greetings().vector_source("coffee-offer"),
        Some(VectorSource::Learned { .. })
    ));
    let mut updates = 0;
    for step in 0..200usize {
        let c = customers[(step * 5) % customers.len()];
        let event = match step % 7 {
            0 | 3 => Engagement::Click,
            5 => Engagement::Conversion,
            _ => Engagement::Impression,
        };
        e.record_engagement(c, "coffee-offer", event).unwrap();
        let acc = e.greetings().variants[i].acc.as_ref().unwrap();
        updates += usize::from(acc.factor.as_ref().is_some_and(|f| f.2 > 0));
        if step % 10 == 9 {
            let incremental = e.greetings().variants[i].vector.clone();
            let mut fresh = e.clone();
            fresh.refresh_greetings(t(131)).unwrap();
            let full = &fresh.greetings().variants[i].vector;
            for (a, b) in incremental.iter().zip(full) {
                assert!(
                    (a - b).abs() < 1e-3 * (1.0 + b.abs()),
                    "step {step}: {a} vs {b}"
                );
            }
        }
    }
    // most events changed the factor rather than factoring again
    assert!(updates > 150, "{updates}");
}

#[test]
fn clicking_one_category_shifts_the_greetings_of_simulated_customers() {
    let mut e = shop();
    e.add_greeting_variants(vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")])
        .unwrap();
    let at = t(131);
    // tea drinkers t0–t4 are shown both offers every day and click only the coffee one
    for c in ["t0", "t1", "t2", "t3", "t4"] {
        assert_eq!(e.greet(c, Channel::App, at).unwrap().variant, "tea-offer");
    }
    for _round in 0..8 {
        for c in ["t0", "t1", "t2", "t3", "t4"] {
            let g = e.greet(c, Channel::App, at).unwrap();
            for shown in std::iter::once(g.variant.as_str())
                .chain(g.runners_up.iter().map(|r| r.variant.as_str()))
            {
                e.record_engagement(c, shown, Engagement::Impression)
                    .unwrap();
            }
            e.record_engagement(c, "coffee-offer", Engagement::Click)
                .unwrap();
        }
    }
    for c in ["t0", "t1", "t2", "t3", "t4"] {
        let g = e.greet(c, Channel::App, at).unwrap();
        assert_eq!(g.variant, "coffee-offer", "{c}: {g:?}");
    }
    // tea drinkers who did not engage keep their tea greeting
    for c in ["t5", "t6"] {
        assert_eq!(e.greet(c, Channel::App, at).unwrap().variant, "tea-offer");
    }
    assert_eq!(e.greetings().engagement("coffee-offer", "t0").clicks, 8);
    assert_eq!(
        e.greetings().engagement_totals("coffee-offer").impressions,
        40
    );
    // 40 impressions < 50: still derived
    assert_eq!(
        e.greetings().vector_source("coffee-offer"),
        Some(VectorSource::Category)
    );
    for c in ["t5", "t6", "t7"] {
        for _ in 0..4 {
            e.record_engagement(c, "coffee-offer", Engagement::Impression)
                .unwrap();
        }
    }
    assert!(matches!(
        e.greetings().vector_source("coffee-offer"),
        Some(VectorSource::Learned {
            impressions: 52,
            clicks: 40
        })
    ));
    // the incremental sums agree with a solve from scratch
    let incremental = e.greetings().variants[e.greetings().find("coffee-offer").unwrap()]
        .vector
        .clone();
    // the adjustments survive a refresh
    e.refresh_greetings(at).unwrap();
    let full = &e.greetings().variants[e.greetings().find("coffee-offer").unwrap()].vector;
    for (a, b) in incremental.iter().zip(full) {
        assert!((a - b).abs() < 1e-3 * (1.0 + b.abs()), "{a} vs {b}");
    }
    assert_eq!(
        e.greet("t0", Channel::App, at).unwrap().variant,
        "coffee-offer"
    );
}

#[test]
fn win_back_post_purchase_and_replenishment() {
    let mut e = shop();
    e.add_greeting_variants_json(
        r#"[
        {"id": "hello", "template": "Hello {first_name|there}"},
        {"id": "win-back", "kind": "win-back", "audience": {"segments": ["at-risk", "lapsed"]},
         "template": "We miss you, {first_name|friend}! {days_since_last_order} days already."},
        {"id": "thanks", "kind": "post-purchase", "template": "Thanks! You may like {product}."},
        {"id": "refill", "kind": "replenishment", "template": "Time for more {replenish_product}?"}
    ]"#,
    )
    .unwrap();
    // t1 last bought on day 110: 200 days later lapsed, 100 days later at risk
    let g = e.greet("t1", Channel::Email, t(310)).unwrap();
    assert_eq!(g.variant, "win-back");
    assert_eq!(g.why.segment, Some(Segment::Lapsed));
    assert!(g.text.contains("200 days"), "{}", g.text);
    assert_eq!(
        e.greet("t1", Channel::Email, t(210)).unwrap().why.segment,
        Some(Segment::AtRisk)
    );
    // right after a purchase: thanks with a complementary (not owned) product of the same taste
    let g = e.greet("t1", Channel::Email, t(116)).unwrap();
    assert_eq!(g.variant, "thanks", "{g:?}");
    // complementary products come from the categories of the last order (tea), and t1 owns
    // every tea but oolong
    assert_eq!(g.products, vec!["oolong".to_owned()]);
    assert_eq!(g.text, "Thanks! You may like oolong.");
    assert!(g.why.to_string().contains("post-purchase"));
    // a product bought every 10 days, last 15 days ago
    for d in [200, 210, 220] {
        buy(&mut e, "t2", "oolong", d);
    }
    let g = e.greet("t2", Channel::App, t(235)).unwrap();
    assert_eq!(g.variant, "refill", "{g:?}");
    assert_eq!(g.text, "Time for more oolong?");
    assert_eq!(g.products, vec!["oolong".to_owned()]);
    // not yet due, and long past due (interest lapsed): no reminder
    assert_ne!(
        e.greet("t2", Channel::App, t(228)).unwrap().variant,
        "refill"
    );
    assert_ne!(
        e.greet("t2", Channel::App, t(260)).unwrap().variant,
        "refill"
    );
}

#[test]
fn service_recovery_until_newer_feedback_or_purchase() {
    let mut e = shop();
    e.load_default_greetings().unwrap();
    e.add_greeting_variant(Variant {
        boost: 10.0,
        ..cat("tea-offer", "tea")
    })
    .unwrap();
    assert!(matches!(
        e.record_feedback("t1", Score::Nps(12), t(131)),
        Err(Error::ScoreOutOfRange { .. })
    ));
    e.record_feedback("t1", Score::Nps(3), t(131)).unwrap();
    for ch in Channel::ALL {
        let g = e.greet("t1", ch, t(132)).unwrap();
        assert_eq!(g.why.kind, GreetingKind::ServiceRecovery, "{g:?}");
        assert!(g.products.is_empty());
        assert!(g.text.to_lowercase().contains("sorry"), "{}", g.text);
        assert!(
            g.runners_up
                .iter()
                .all(|r| r.why.kind == GreetingKind::ServiceRecovery)
        );
    }
    // before the feedback: no recovery
    assert_eq!(
        e.greet("t1", Channel::Web, t(130)).unwrap().variant,
        "tea-offer"
    );
    // a newer good answer ends it
    e.record_feedback("t1", Score::Csat(5), t(133)).unwrap();
    assert_eq!(
        e.greet("t1", Channel::Web, t(134)).unwrap().variant,
        "tea-offer"
    );
    // a CES of 6 starts it again; a purchase ends it
    e.record_feedback("t1", Score::Ces(6), t(135)).unwrap();
    assert_eq!(
        e.greet("t1", Channel::Web, t(136)).unwrap().why.kind,
        GreetingKind::ServiceRecovery
    );
    buy(&mut e, "t1", "green-tea", 137);
    assert_ne!(
        e.greet("t1", Channel::Web, t(138)).unwrap().why.kind,
        GreetingKind::ServiceRecovery
    );
    // no recovery variant registered: the built-in apology
    let mut bare = shop();
    bare.add_greeting_variant(cat("tea-offer", "tea")).unwrap();
    bare.record_feedback("t2", Score::Csat(1), t(131)).unwrap();
    let g = bare.greet("t2", Channel::Sms, t(132)).unwrap();
    assert!(g.why.built_in && g.variant == "builtin-recovery");
    assert!(g.text.contains("sorry") && g.text.starts_with("Name2"));
    let r = e.feedback_report(Period::Month, None).unwrap();
    assert_eq!((r.detractors, r.csat_responses, r.ces_responses), (1, 1, 1));
    // a visitor never seen, with a poor answer: the shop's own open recovery variants
    e.record_feedback("visitor-9", Score::Nps(2), t(131))
        .unwrap();
    let g = e.greet("visitor-9", Channel::Web, t(132)).unwrap();
    assert!(g.generic && !g.why.built_in, "{g:?}");
    assert_eq!(g.why.kind, GreetingKind::ServiceRecovery);
    assert!(g.text.to_lowercase().contains("sorry"), "{}", g.text);
}

#[test]
fn unknown_customers_locales_and_hours() {
    let mut e = shop();
    e.add_greeting_variants_json(
        r#"[
        {"id": "en-web", "channels": ["web"], "template": "Welcome to {shop_name|our shop}!"},
        {"id": "en-known", "audience": {"min_orders": 1}, "template": "Welcome back {first_name}!"},
        {"id": "fr", "locale": "fr", "template": "Bonjour {first_name|à vous} !"},
        {"id": "fr-ca", "locale": "fr-CA", "template": "Allô {first_name|toi} !"},
        {"id": "night", "hours": {"from": 22, "to": 6}, "boost": 1.0, "template": "Up late?"}
    ]"#,
    )
    .unwrap();
    let g = e.greet("stranger", Channel::Web, t(131)).unwrap();
    assert!(g.generic);
    assert_eq!(g.variant, "en-web");
    assert_eq!(g.text, "Welcome to our shop!");
    let g = e.greet("stranger", Channel::Sms, t(131)).unwrap();
    assert!(g.generic && g.why.built_in, "{g:?}");
    assert_eq!(g.text, "Hi there, thanks for being with us.");
    e.upsert_customer(CustomerInfo {
        id: "t1".into(),
        first_name: Some("Élodie".into()),
        locale: Some("fr-CA".into()),
        channel: None,
    })
    .unwrap();
    let g = e.greet("t1", Channel::App, t(131)).unwrap();
    assert_eq!(g.variant, "fr-ca", "exact locale wins: {g:?}");
    assert_eq!(g.runners_up[0].variant, "fr");
    e.upsert_customer(CustomerInfo {
        id: "t2".into(),
        first_name: Some("Hans".into()),
        locale: Some("de-DE".into()),
        channel: None,
    })
    .unwrap();
    let g = e.greet("t2", Channel::App, t(131)).unwrap();
    assert_eq!(g.locale, "en", "no German variant: the default locale");
    assert_eq!(g.text, "Welcome back Hans!");
    let late = Timestamp(131 * DAY_S + 23 * 3600);
    assert_eq!(e.greet("t2", Channel::App, late).unwrap().variant, "night");
}

#[test]
fn greetings_are_saved_and_loaded_with_the_engine() {
    let mut e = shop();
    e.load_default_greetings().unwrap();
    e.add_greeting_variant(cat("tea-offer", "tea")).unwrap();
    e.record_engagement("t1", "tea-offer", Engagement::Click)
        .unwrap();
    e.record_feedback("t3", Score::Nps(2), t(131)).unwrap();
    e.refresh_greetings(t(131)).unwrap();
    let back = Engine::from_bytes(&e.to_bytes().unwrap()).unwrap();
    assert_eq!(back.greetings().len(), e.greetings().len());
    assert_eq!(back.greetings().engagement("tea-offer", "t1").clicks, 1);
    for c in ["t1", "t3", "c1", "stranger"] {
        assert_eq!(
            back.greet(c, Channel::Email, t(132)).unwrap(),
            e.greet(c, Channel::Email, t(132)).unwrap()
        );
    }
}

/// A shop whose greeting state has many entries in each hash map it saves: engagement of
/// every customer with two variants, engagement-adjusted vectors, and survey answers.
fn engaged_shop() -> Engine {
    let mut e = shop();
    e.add_greeting_variant(cat("tea-offer", "tea")).unwrap();
    e.add_greeting_variant(cat("coffee-offer", "coffee"))
        .unwrap();
    for i in 0..10 {
        for c in [format!("t{i}"), format!("c{i}"), format!("visitor{i}")] {
            for (k, variant) in ["tea-offer", "coffee-offer"].into_iter().enumerate() {
                e.record_engagement(&c, variant, Engagement::Impression)
                    .unwrap();
                if (i + k) % 3 == 0 {
                    e.record_engagement(&c, variant, Engagement::Click).unwrap();
                }
            }
            e.record_feedback(&c, Score::Csat(1 + (i % 5) as u8), t(131))
                .unwrap();
        }
    }
    e.refresh_greetings(t(131)).unwrap();
    e
}

#[test]
fn equal_engines_save_equal_bytes() {
    let e = engaged_shop();
    let bytes = e.to_bytes().unwrap();
    // hash maps iterate in a per-instance order: entries are written sorted, so a loaded and
    // re-saved engine, and an engine built the same way again, write the same bytes
    let back = Engine::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes);
    assert_eq!(engaged_shop().to_bytes().unwrap(), bytes);
    assert_eq!(
        back.greet("t4", Channel::Email, t(132)).unwrap(),
        e.greet("t4", Channel::Email, t(132)).unwrap()
    );
}

#[test]
fn stale_vectors_after_retraining_are_recomputed() {
    let mut e = shop();
    e.add_greeting_variants(vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")])
        .unwrap();
    buy(&mut e, "t9", "espresso", 131);
    e.train().unwrap(); // new factors: the cached vectors are stale until a refresh
    let slow = e.greet("t1", Channel::Web, t(132)).unwrap();
    assert_eq!(slow.variant, "tea-offer");
    e.refresh_greetings(t(132)).unwrap();
    let fast = e.greet("t1", Channel::Web, t(132)).unwrap();
    assert_eq!(slow, fast);
}

#[test]
fn rfm_conditions_need_the_cache() {
    let mut e = shop();
    e.add_greeting_variants_json(
        r#"[
        {"id": "best", "audience": {"min_rfm": {"recency": 1, "frequency": 1, "monetary": 1}}, "template": "Top customer!"},
        {"id": "z", "template": "Hi"}
    ]"#,
    )
    .unwrap();
    assert_eq!(e.greet("t1", Channel::Web, t(131)).unwrap().variant, "z");
    e.refresh_greetings(t(131)).unwrap();
    assert_eq!(e.greet("t1", Channel::Web, t(131)).unwrap().variant, "best");
}

#[test]
fn cutting_and_cleaning_helpers() {
    assert_eq!(clean(" a\u{0}\u{7}b \n\t c "), "a b c");
    assert_eq!(cut("short", 10, "…"), "short");
    assert_eq!(cut("aaaa bbbb cccc", 10, "…"), "aaaa bbbb…");
    assert_eq!(cut("abcdefghijklmnop", 10, "…"), "abcdefghi…");
    assert_eq!(
        escape_html("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
    assert!(Hours { from: 22, to: 6 }.contains(23) && Hours { from: 22, to: 6 }.contains(2));
    assert!(!Hours { from: 22, to: 6 }.contains(12));
    assert!(Hours { from: 9, to: 17 }.contains(9) && !Hours { from: 9, to: 17 }.contains(17));
}

#[test]
fn engines_saved_before_greetings_still_load() {
    // the layout of an untrained engine before the greeting field existed
    #[derive(Serialize)]
    struct Before<'a> {
        config: &'a EngineConfig,
        history: &'a History,
        model: Option<()>,
    }
    let mut e = Engine::default();
    buy(&mut e, "a", "teapot", 1);
    let old = crate::persist::to_bytes(&Before {
        config: e.config(),
        history: &e.history().with_shared_order_ids(),
        model: None,
    })
    .unwrap();
    let back = Engine::from_bytes(&old).unwrap();
    assert!(back.greetings().is_empty());
    assert_eq!(back.history().lines().len(), 1);
    assert_eq!(back.history().order_id(0), "a@122400");
    assert!(back.history().order_is_synthetic(0));
    // a damaged greeting section is still caught by the checksum
    let mut e = shop();
    e.load_default_greetings().unwrap();
    let mut bytes = e.to_bytes().unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    assert!(matches!(
        Engine::from_bytes(&bytes),
        Err(Error::Corrupted(_))
    ));
}

#[test]
fn saved_greeting_state_that_does_not_fit_the_engine_is_a_corrupted_error() {
    let mut e = shop();
    e.add_greeting_variants(vec![
        cat("coffee-offer", "coffee"),
        Variant {
            featured_products: vec!["teapot".into()],
            ..v("teapot-offer", "{first_name|Hi}, a teapot: {product}")
        },
    ])
    .unwrap();
    e.record_engagement("t1", "coffee-offer", Engagement::Click)
        .unwrap();
    e.record_feedback("t2", Score::Csat(2), t(131)).unwrap();
    e.refresh_greetings(t(131)).unwrap();
    let good = serde_json::to_value(&e).unwrap();
    let load = |edit: &dyn Fn(&mut serde_json::Value)| Engine::reload_edited(&good, edit);
    let back = load(&|_| ()).unwrap();
    assert_eq!(
        back.greet("t1", Channel::App, t(131)).unwrap(),
        e.greet("t1", Channel::App, t(131)).unwrap()
    );
    // Catalog indices are resolved again from each variant's definition, so a crafted index is
    // replaced rather than trusted.
    let repaired = load(&|v| v["greetings"]["variants"][1]["featured"][0] = 999.into()).unwrap();
    assert_eq!(
        repaired.greet("c1", Channel::App, t(131)).unwrap(),
        e.greet("c1", Channel::App, t(131)).unwrap()
    );
    // Files of earlier versions hold a category index in the greetings: it is ignored (the
    // catalog derives its own), whatever it says, and not written again.
    let older = load(&|v| {
        v["greetings"]["retired_category_index"] = serde_json::json!([3, [[999], [0, 1]]])
    })
    .unwrap();
    assert_eq!(
        older.greet("c1", Channel::App, t(131)).unwrap(),
        e.greet("c1", Channel::App, t(131)).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&older).unwrap()["greetings"]["retired_category_index"],
        serde_json::json!([0, []])
    );
    let variant = |v: &mut serde_json::Value, i: usize| -> serde_json::Value {
        v["greetings"]["variants"][i].take()
    };
    for (what, edit) in [
        (
            "a featured product that is not in the catalog",
            &(|v: &mut serde_json::Value| {
                v["greetings"]["variants"][1]["variant"]["featured_products"][0] =
                    "not-in-catalog".into()
            }) as &dyn Fn(&mut serde_json::Value),
        ),
        ("a template that does not parse", &|v| {
            v["greetings"]["variants"][0]["variant"]["template"] = "Hi {frist_name}".into()
        }),
        ("variants out of order", &|v| {
            let (a, b) = (variant(v, 0), variant(v, 1));
            v["greetings"]["variants"][0] = b;
            v["greetings"]["variants"][1] = a;
        }),
        ("a variant vector of the wrong length", &|v| {
            v["greetings"]["variants"][0]["vector"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        ("a customer vector of the wrong length", &|v| {
            v["greetings"]["customer_vectors"]["t1"][1]
                .as_array_mut()
                .unwrap()
                .push(1.0.into());
        }),
        ("RFM distributions of different lengths", &|v| {
            v["greetings"]["rfm"]["spend"].as_array_mut().unwrap().pop();
        }),
        ("an out-of-range survey answer", &|v| {
            v["greetings"]["feedback"]["by_customer"]["t2"][0]["score"] =
                serde_json::json!({ "csat": 9 })
        }),
        ("settings out of range", &|v| {
            v["greetings"]["config"]["sms_max_chars"] = 3.into()
        }),
    ] {
        let r = load(edit);
        assert!(matches!(r, Err(Error::Corrupted(_))), "{what}: {r:?}");
    }
}

#[test]
fn vectors_of_an_older_model_still_load() {
    // Variant vectors are stamped with the model they were made for; after retraining with
    // another factor count they are stale, not corrupt, and are rebuilt on refresh.
    let mut e = shop();
    e.add_greeting_variant(cat("coffee-offer", "coffee"))
        .unwrap();
    e.refresh_greetings(t(131)).unwrap();
    let mut json = serde_json::to_value(&e).unwrap();
    json["config"]["als"]["factors"] = 5.into();
    let mut e: Engine = serde_json::from_value(json).unwrap();
    e.train().unwrap();
    assert_eq!(e.trained_factors().unwrap().dim(), 5);
    let mut back = Engine::from_bytes(&e.to_bytes().unwrap()).unwrap();
    back.refresh_greetings(t(131)).unwrap();
    assert_eq!(
        back.greet("c1", Channel::App, t(131)).unwrap().variant,
        "coffee-offer"
    );
}

#[test]
fn customer_ridge_woodbury_matches_the_dense_solve() {
    // a customer's engagement with n variants, in f = 12 dimensions; n = 11, 12 and 15 take
    // the dense route, the rest the Woodbury one
    let f = 12;
    let vectors: Vec<Vec<f32>> = (0..15)
        .map(|k| {
            (0..f)
                .map(|r| (((k * 7 + r * 3) % 11) as f32 - 5.0) / 4.0)
                .collect()
        })
        .collect();
    let anchor: Vec<f32> = (0..f).map(|r| (r as f32 * 0.3).sin()).collect();
    for n in [1usize, 2, 5, 11, 12, 15] {
        let rows: Vec<(&[f32], f32, f32)> = vectors[..n]
            .iter()
            .enumerate()
            .map(|(k, v)| (v.as_slice(), 1.0 + k as f32 * 0.7, (k % 2) as f32))
            .collect();
        for reg in [0.05f32, 1.0, 20.0] {
            let fast = ridge(f, reg, &anchor, &rows).unwrap();
            let dense = ridge_dense(f, reg, &anchor, &rows).unwrap();
            let scale = dense.iter().map(|v| v.abs()).fold(1e-3, f32::max);
            for (a, b) in fast.iter().zip(&dense) {
                assert!(
                    (a - b).abs() <= 1e-3 * scale,
                    "n={n} reg={reg}: {fast:?} vs {dense:?}"
                );
            }
        }
    }
    // no rows: the anchor itself
    let x = ridge(f, 1.0, &anchor, &[]).unwrap();
    for (a, b) in x.iter().zip(&anchor) {
        assert!((a - b).abs() < 1e-6);
    }
}

/// Eligibility includes the required slots: a customer whose own-language variants all need a
/// value they lack is greeted by the default-language variants, not by the built-in text.
#[test]
fn default_language_is_used_when_no_own_language_variant_can_be_rendered() {
    let mut e = shop();
    e.add_greeting_variants_json(
        r#"[
        {"id": "fr", "locale": "fr", "template": "Bonjour {first_name} !"},
        {"id": "en", "template": "Hello {first_name|there}!"}
    ]"#,
    )
    .unwrap();
    let mut info = CustomerInfo {
        id: "t1".into(),
        first_name: None,
        locale: Some("fr-FR".into()),
        channel: None,
    };
    e.upsert_customer(info.clone()).unwrap();
    let g = e.greet("t1", Channel::Web, t(131)).unwrap();
    assert_eq!(g.variant, "en", "{g:?}");
    assert_eq!(g.text, "Hello there!");
    assert_eq!(g.locale, "en");
    assert!(!g.why.built_in);
    // with a first name the French variant renders, and languages are not mixed
    info.first_name = Some("Zoé".into());
    e.upsert_customer(info).unwrap();
    let g = e.greet("t1", Channel::Web, t(131)).unwrap();
    assert_eq!(
        (g.variant.as_str(), g.text.as_str()),
        ("fr", "Bonjour Zoé !")
    );
    assert!(g.runners_up.is_empty(), "{g:?}");
}

/// A fold-in ([`Engine::observe`]) changes a customer's purchase-based vector; the engagement
/// sums of the variants they engaged with follow it, so that the next event's learned vector
/// still equals a solve from scratch. This holds for a customer who engaged before buying
/// anything (counted, but without a vector until the fold-in) and for a known one.
#[test]
fn engagement_sums_follow_a_customer_vector_changed_by_observe() {
    let mut e = shop();
    e.add_greeting_variants(vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")])
        .unwrap();
    for c in ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"] {
        for _ in 0..7 {
            e.record_engagement(c, "coffee-offer", Engagement::Impression)
                .unwrap();
        }
        e.record_engagement(c, "coffee-offer", Engagement::Click)
            .unwrap();
    }
    for c in ["newbie", "t0"] {
        for _ in 0..3 {
            e.record_engagement(c, "coffee-offer", Engagement::Impression)
                .unwrap();
        }
        e.record_engagement(c, "coffee-offer", Engagement::Click)
            .unwrap();
    }
    for (c, p) in [
        ("newbie", "espresso"),
        ("newbie", "grinder"),
        ("t0", "espresso"),
    ] {
        e.observe(&Purchase {
            customer: c.into(),
            product: p.into(),
            timestamp: t(131),
            quantity: 1.0,
            unit_price: 3.0,
            order: None,
        })
        .unwrap();
    }
    for c in ["newbie", "t0"] {
        e.record_engagement(c, "coffee-offer", Engagement::Impression)
            .unwrap();
    }
    let g = e.greetings();
    let i = g.find("coffee-offer").unwrap();
    let r = &g.variants[i];
    // t0–t7: 7 impressions each, t0 4 more; newbie 4; clicks: one each, t0 and newbie 2
    assert_eq!(
        r.source,
        VectorSource::Learned {
            impressions: 64,
            clicks: 10
        }
    );
    let (full, source) = g.learn(
        i,
        &r.derived,
        r.derived_source,
        e.trained_factors().unwrap(),
        e.history(),
    );
    assert_eq!(source, r.source);
    for (a, b) in r.vector.iter().zip(&full) {
        assert!(
            (a - b).abs() < 1e-3 * (1.0 + b.abs()),
            "{:?} vs {full:?}",
            r.vector
        );
    }
}

/// The cut keeps the last word that fits when the limit falls right after it.
#[test]
fn cut_keeps_a_whole_word_that_ends_at_the_limit() {
    assert_eq!(cut("aaaaaa bbb cccc", 11, "…"), "aaaaaa bbb…");
    assert_eq!(cut("aaaaaa bbb, cccc", 12, "…"), "aaaaaa bbb…");
    // a word running past the limit is still dropped
    assert_eq!(cut("aaaaaa bbbb cccc", 11, "…"), "aaaaaa…");
    // multi-byte text at the limit
    assert_eq!(cut("éééééé ééé ééé", 11, "…"), "éééééé ééé…");
    // a sentence's full stop gives way to the ellipsis
    assert_eq!(cut("One. Two three", 9, "..."), "One...");
    assert_eq!(cut("One. Two three", 7, "…"), "One…");
    // so does an ellipsis of the text's own, whichever the ending
    assert_eq!(cut("Hi Ann… new things", 12, "..."), "Hi Ann...");
    assert_eq!(cut("Hi Ann... new things", 12, "…"), "Hi Ann…");
    // no room for the ending: the first characters, within the limit
    assert_eq!(cut("abcdef", 3, "..."), "abc");
    assert_eq!(cut("abcdef", 2, "..."), "ab");
    // a longer ending: the limit counts it
    assert_eq!(cut("aaaaaa bbb cccc", 13, "..."), "aaaaaa bbb...");
    assert_eq!(cut("aaaaaa bbb cccc", 12, "..."), "aaaaaa...");
    // through an SMS greeting: 157 characters of words, then a space and one more word; the
    // SMS ends in three full stops, inside the GSM 7-bit alphabet
    let mut e = shop();
    let head = "word ".repeat(30) + "abcdefg";
    assert_eq!(head.chars().count(), 157);
    let text = format!("{head} tail");
    e.add_greeting_variant(v("long", &text)).unwrap();
    let sms = e.greet("t1", Channel::Sms, t(131)).unwrap();
    assert_eq!(sms.text, format!("{head}..."));
    assert_eq!(sms.text.chars().count(), 160);
    // the app's limit is 178 and its text ends in `…`
    let head = "word ".repeat(35) + "ab";
    assert_eq!(head.chars().count(), 177);
    e.add_greeting_variant(v("long", &format!("{head} tail")))
        .unwrap();
    let app = e.greet("t1", Channel::App, t(131)).unwrap();
    assert_eq!(app.text, format!("{head}…"));
}

/// `{top_category}` weighs each (category, order) pair at its latest time, as
/// `Profile::favourite_categories` does, when an order's lines have different times.
#[test]
fn top_category_counts_an_order_at_its_latest_line_as_profiles_do() {
    let mut e = shop();
    let line = |p: &str, day: i64, order: &str| Purchase {
        customer: "mixed".into(),
        product: p.into(),
        timestamp: t(day),
        quantity: 1.0,
        unit_price: 2.0,
        order: Some(order.into()),
    };
    // order o1 was opened on day 10 and got another tea line on day 300; coffee on day 250
    for p in [
        line("green-tea", 10, "o1"),
        line("black-tea", 300, "o1"),
        line("espresso", 250, "o2"),
    ] {
        e.record_purchase(&p).unwrap();
    }
    e.add_greeting_variant(v("fav", "More {top_category}?"))
        .unwrap();
    let at = t(301);
    let profiles = e.profiles(at).unwrap();
    let favourite = profiles.by_id("mixed").unwrap().favourite_categories[0].0;
    assert_eq!(e.history().catalog().category_name(favourite), "tea");
    let g = e.greet("mixed", Channel::Sms, at).unwrap();
    assert_eq!(g.text, "More tea?");
}

/// One engagement event of a replayed log: (customer, variant, event).
type Event = (&'static str, &'static str, Engagement);

fn replay(e: &mut Engine, events: &[Event]) {
    for &(c, variant, event) in events {
        e.record_engagement(c, variant, event).unwrap();
    }
}

/// `a` and `b` hold the same engagement-adjusted vectors for `customers` and greet them alike
/// (variant, text and scores, runners-up included), to the relative tolerance `tol`.
fn assert_same_greetings(a: &Engine, b: &Engine, customers: &[&str], tol: f32) {
    let close = |x: f32, y: f32| (x - y).abs() <= tol * (1.0 + y.abs());
    assert_eq!(
        a.trained_factors().unwrap().fingerprint(),
        b.trained_factors().unwrap().fingerprint()
    );
    for &c in customers {
        let (va, vb) = (
            a.greetings().customer_vectors.get(c).map(|x| &x.1),
            b.greetings().customer_vectors.get(c).map(|x| &x.1),
        );
        match (va, vb) {
            (None, None) => {}
            (Some(x), Some(y)) => assert!(
                x.len() == y.len() && x.iter().zip(y).all(|(&p, &q)| close(p, q)),
                "{c}: adjusted vector {x:?}, from scratch {y:?}"
            ),
            _ => panic!("{c}: adjusted vector {va:?}, from scratch {vb:?}"),
        }
        for channel in [Channel::App, Channel::Web] {
            let (ga, gb) = (
                a.greet(c, channel, t(131)).unwrap(),
                b.greet(c, channel, t(131)).unwrap(),
            );
            assert_eq!(ga.variant, gb.variant, "{c}: {ga:?} vs {gb:?}");
            assert_eq!(ga.text, gb.text, "{c}");
            assert!(
                close(ga.score, gb.score),
                "{c}: {} vs {}",
                ga.score,
                gb.score
            );
            assert_eq!(ga.runners_up.len(), gb.runners_up.len(), "{c}");
            for (ra, rb) in ga.runners_up.iter().zip(&gb.runners_up) {
                assert_eq!(ra.variant, rb.variant, "{c}");
                assert!(close(ra.score, rb.score), "{c}: {ra:?} vs {rb:?}");
            }
        }
    }
}

/// Removing a variant also takes its engagement out of the adjusted vectors of the customers
/// who engaged with it: they are greeted as by an engine that never had the variant.
#[test]
fn removing_a_variant_updates_the_adjusted_vectors_it_was_in() {
    use Engagement::{Click, Impression};
    let extra: [Event; 7] = [
        ("t0", "extra", Impression),
        ("t0", "extra", Click),
        ("t0", "extra", Click),
        ("t0", "extra", Click),
        ("t1", "extra", Impression),
        ("t1", "extra", Click),
        ("t1", "extra", Click),
    ];
    let others: [Event; 5] = [
        ("t0", "tea-offer", Impression),
        ("t0", "tea-offer", Click),
        ("t0", "coffee-offer", Impression),
        ("c0", "tea-offer", Impression),
        ("c0", "coffee-offer", Click),
    ];
    let variants = || vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")];
    let mut e = shop();
    e.add_greeting_variants(variants()).unwrap();
    e.add_greeting_variant(cat("extra", "coffee")).unwrap();
    replay(&mut e, &extra);
    replay(&mut e, &others);
    assert!(e.remove_greeting_variant("extra"));

    let mut fresh = shop();
    fresh.add_greeting_variants(variants()).unwrap();
    replay(&mut fresh, &others);
    assert!(!fresh.greetings().customer_vectors.contains_key("t1"));
    assert_same_greetings(&e, &fresh, &["t0", "t1", "c0", "t2"], 1e-5);
}

/// Registering a variant again under its id keeps its engagement but can move its vector (here
/// from the tea category to coffee): the adjusted vectors of the customers who engaged with it
/// follow, as in an engine that had the new definition all along.
#[test]
fn replacing_a_variant_updates_the_adjusted_vectors_it_was_in() {
    use Engagement::{Click, Impression};
    let events: [Event; 10] = [
        ("t0", "extra", Impression),
        ("t0", "extra", Click),
        ("t0", "extra", Click),
        ("t1", "extra", Impression),
        ("t1", "extra", Click),
        ("t0", "tea-offer", Impression),
        ("t0", "coffee-offer", Impression),
        ("c0", "extra", Impression),
        ("c0", "tea-offer", Click),
        ("c1", "coffee-offer", Click),
    ];
    let variants = || vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")];
    let mut e = shop();
    e.add_greeting_variants(variants()).unwrap();
    e.add_greeting_variant(Variant {
        category: Some("tea".into()),
        ..cat("extra", "coffee")
    })
    .unwrap();
    replay(&mut e, &events);
    e.add_greeting_variant(cat("extra", "coffee")).unwrap();
    assert_eq!(e.greetings().engagement("extra", "t0").clicks, 2);

    let mut fresh = shop();
    fresh.add_greeting_variants(variants()).unwrap();
    fresh.add_greeting_variant(cat("extra", "coffee")).unwrap();
    replay(&mut fresh, &events);
    assert_same_greetings(&e, &fresh, &["t0", "t1", "c0", "c1", "t2"], 1e-5);
}

/// Changing the learning settings (thresholds, confidences, ridge and anchor) after engagement
/// was recorded greets as an engine that had the new settings all along: variant vectors,
/// the adjusted vector of the customer who engaged last, and the sums the next event's solve
/// starts from.
#[test]
fn changing_learning_settings_matches_an_engine_that_had_them_all_along() {
    use Engagement::{Click, Conversion, Impression};
    let mut events: Vec<Event> = Vec::new();
    for c in ["t0", "t1", "t2", "t3"] {
        events.extend([
            (c, "coffee-offer", Impression),
            (c, "coffee-offer", Impression),
            (c, "coffee-offer", Click),
        ]);
    }
    events.extend([("c0", "tea-offer", Impression), ("t3", "tea-offer", Click)]);
    let settings = GreetingConfig {
        learn_min_impressions: 6,
        learn_min_clicks: 3,
        click_alpha: 5.0,
        conversion_weight: 2.0,
        engagement_regularization: 0.5,
        customer_anchor: 0.25,
        ..GreetingConfig::default()
    };
    // the engine from scratch updates its learned vector event by event, this one solves it
    // at once: they agree up to rounding
    const TOL: f32 = 1e-4;
    let variants = || vec![cat("coffee-offer", "coffee"), cat("tea-offer", "tea")];
    let mut e = shop();
    e.add_greeting_variants(variants()).unwrap();
    replay(&mut e, &events);
    assert_eq!(
        e.greetings().vector_source("coffee-offer"),
        Some(VectorSource::Category)
    );
    e.set_greeting_config(settings.clone()).unwrap();

    let mut fresh = shop();
    fresh.set_greeting_config(settings).unwrap();
    fresh.add_greeting_variants(variants()).unwrap();
    replay(&mut fresh, &events);
    let same_variants = |a: &Engine, b: &Engine| {
        for id in ["coffee-offer", "tea-offer"] {
            let (ga, gb) = (a.greetings(), b.greetings());
            assert_eq!(ga.vector_source(id), gb.vector_source(id), "{id}");
            let (x, y) = (
                &ga.variants[ga.find(id).unwrap()].vector,
                &gb.variants[gb.find(id).unwrap()].vector,
            );
            assert!(
                x.iter()
                    .zip(y)
                    .all(|(p, q)| (p - q).abs() <= TOL * (1.0 + q.abs())),
                "{id}: {x:?}, from scratch {y:?}"
            );
        }
    };
    assert!(matches!(
        fresh.greetings().vector_source("coffee-offer"),
        Some(VectorSource::Learned { .. })
    ));
    same_variants(&e, &fresh);
    assert_same_greetings(&e, &fresh, &["t3", "c0", "t5", "c5"], TOL);

    // the next events start from the sums of the new settings
    for event in [Conversion, Click, Impression] {
        e.record_engagement("t3", "coffee-offer", event).unwrap();
        fresh
            .record_engagement("t3", "coffee-offer", event)
            .unwrap();
    }
    same_variants(&e, &fresh);
    assert_same_greetings(&e, &fresh, &["t3", "c0", "t5", "c5"], TOL);
}

/// The locale prior rewards a variant that states the customer's locale; a variant without a
/// locale states none, even where the default locale is the customer's.
#[test]
fn the_locale_prior_goes_to_a_variant_that_states_the_customers_locale() {
    let mut e = shop();
    e.add_greeting_variants_json(
        r#"[
        {"id": "a-plain", "template": "Hello {first_name}!"},
        {"id": "b-en", "locale": "en", "template": "Hello {first_name}!"},
        {"id": "c-en-gb", "locale": "en-GB", "template": "Hello {first_name}!"}
    ]"#,
    )
    .unwrap();
    // t3 has no locale: the default `en`, which `b-en` states; `c-en-gb` is English too
    let g = e.greet("t3", Channel::Web, t(131)).unwrap();
    assert_eq!(g.variant, "b-en", "{g:?}");
    let others: Vec<(&str, f32)> = g
        .runners_up
        .iter()
        .map(|r| (r.variant.as_str(), r.score))
        .collect();
    assert_eq!(
        others.iter().map(|o| o.0).collect::<Vec<_>>(),
        ["a-plain", "c-en-gb"]
    );
    assert_eq!(g.score - others[0].1, PRIOR_LOCALE);
    assert_eq!(others[0].1, others[1].1, "neither states `en`");
    // a customer in en-GB: only the exact locale, region included, gets it
    e.upsert_customer(CustomerInfo {
        id: "t3".into(),
        first_name: Some("Ann".into()),
        locale: Some("en-GB".into()),
        channel: None,
    })
    .unwrap();
    let g = e.greet("t3", Channel::Web, t(131)).unwrap();
    assert_eq!(g.variant, "c-en-gb", "{g:?}");
    assert_eq!(g.text, "Hello Ann!");
    assert_eq!(g.score - g.runners_up[0].score, PRIOR_LOCALE);
}

#[test]
fn built_in_greetings_fall_back_on_empty_names() {
    let mut e = shop();
    // the only variant needs a name, so a customer whose name cleans to nothing gets a
    // built-in greeting
    e.add_greeting_variants(vec![v("named", "Hi {first_name}!")])
        .unwrap();
    e.set_greeting_config(GreetingConfig {
        shop_name: Some(" \t".into()),
        ..GreetingConfig::default()
    })
    .unwrap();
    e.upsert_customer(CustomerInfo {
        id: "t3".into(),
        first_name: Some("\u{7}  ".into()),
        locale: None,
        channel: None,
    })
    .unwrap();
    let g = e.greet("t3", Channel::Sms, t(131)).unwrap();
    assert!(g.why.built_in, "{g:?}");
    assert_eq!(g.text, "Hi there, thanks for being with us.");
    let g = e.greet("t3", Channel::Web, t(131)).unwrap();
    assert_eq!(g.text, "Hello there, welcome to our shop!");
}
