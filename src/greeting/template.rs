//! Greeting templates: plain text with `{slot}` and `{slot|fallback}` placeholders.
//!
//! # Syntax
//!
//! * `{slot}` — a required slot. When the customer has no value for it, the variant is not
//!   eligible for that customer (a greeting never reads "Hi ," or shows a literal `{first_name}`).
//! * `{slot|fallback}` — the fallback text is used when there is no value (`{first_name|there}`).
//!   The fallback must not be blank and cannot contain braces.
//! * `{{` and `}}` — literal braces.
//! * Spaces around a slot name are ignored: `{ first_name }` is `{first_name}`.
//!
//! The known slots are listed on [`Slot`]. Parsing never panics; every problem is a
//! [`TemplateError`] with the 0-based **character** position where it was found.
//!
//! ```
//! use rapport::greeting::template::{Slot, Template};
//! let t = Template::parse("Hi {first_name|there}, {{new}} in {top_category}!").unwrap();
//! let text = t.render(|s| match s {
//!     Slot::TopCategory => Some("Candles".into()),
//!     _ => None,
//! });
//! assert_eq!(text.as_deref(), Some("Hi there, {new} in Candles!"));
//! let err = Template::parse("Hi {name}").unwrap_err();
//! assert_eq!(err.position, 4);
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest template accepted, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 1000;

/// A value a template can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// `{first_name}`: the customer's first name ([`crate::CustomerInfo::first_name`]).
    FirstName,
    /// `{top_category}`: the customer's favourite category (recency-weighted, as in
    /// [`crate::Profile::favourite_categories`]).
    TopCategory,
    /// `{product}`: the product the greeting features — the customer's best-scoring product
    /// among the variant's featured products or inside its category (the whole catalog when it
    /// has neither), the complementary product of a post-purchase greeting (from the categories
    /// of the latest order), or the overdue product of a replenishment reminder.
    Product,
    /// `{last_product}`: the product of the customer's latest purchase.
    LastProduct,
    /// `{replenish_product}`: a product the customer buys repeatedly and is overdue for.
    ReplenishProduct,
    /// `{days_since_last_order}`: whole days since the last purchase.
    DaysSinceLastOrder,
    /// `{order_count}`: distinct orders so far.
    OrderCount,
    /// `{part_of_day}`: `morning` (05–11 h), `afternoon` (12–16 h) or `evening`, UTC.
    PartOfDay,
    /// `{shop_name}`: [`crate::greeting::GreetingConfig::shop_name`].
    ShopName,
}

impl Slot {
    /// Every slot.
    pub const ALL: [Slot; 9] = [
        Slot::FirstName,
        Slot::TopCategory,
        Slot::Product,
        Slot::LastProduct,
        Slot::ReplenishProduct,
        Slot::DaysSinceLastOrder,
        Slot::OrderCount,
        Slot::PartOfDay,
        Slot::ShopName,
    ];

    /// The name written in templates.
    pub fn name(self) -> &'static str {
        match self {
            Slot::FirstName => "first_name",
            Slot::TopCategory => "top_category",
            Slot::Product => "product",
            Slot::LastProduct => "last_product",
            Slot::ReplenishProduct => "replenish_product",
            Slot::DaysSinceLastOrder => "days_since_last_order",
            Slot::OrderCount => "order_count",
            Slot::PartOfDay => "part_of_day",
            Slot::ShopName => "shop_name",
        }
    }

    /// The slot with this template name.
    pub fn from_name(name: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One parsed piece of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Piece {
    /// Literal text (braces already unescaped).
    Text(String),
    /// A placeholder.
    Slot {
        /// What to insert.
        slot: Slot,
        /// Text used when the customer has no value; `None` makes the slot required.
        fallback: Option<String>,
    },
}

/// A parsed template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// Why a template was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// 0-based character position of the problem in the template text.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for TemplateError {}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        position,
        message: message.into(),
    })
}

impl Template {
    /// Parses template text. Errors on blank text, text longer than [`MAX_TEMPLATE_CHARS`],
    /// an unclosed `{`, a stray `}`, an empty or unknown slot name and a blank fallback.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.trim().is_empty() {
            return err(0, "empty template");
        }
        let chars: Vec<char> = text.chars().collect();
        if chars.len() > MAX_TEMPLATE_CHARS {
            return err(
                MAX_TEMPLATE_CHARS,
                format!("template longer than {MAX_TEMPLATE_CHARS} characters"),
            );
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    literal.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    literal.push('}');
                    i += 2;
                }
                '}' => return err(i, "unmatched `}` (write `}}` for a literal brace)"),
                '{' => {
                    let open = i;
                    let mut j = i + 1;
                    while j < chars.len() && chars[j] != '}' {
                        if chars[j] == '{' {
                            return err(j, "`{` inside a placeholder");
                        }
                        j += 1;
                    }
                    if j == chars.len() {
                        return err(open, "unclosed `{` (write `{{` for a literal brace)");
                    }
                    let inner: String = chars[open + 1..j].iter().collect();
                    let (name, fallback) = match inner.split_once('|') {
                        Some((n, f)) => (n, Some(f)),
                        None => (inner.as_str(), None),
                    };
                    let name_at =
                        open + 1 + (name.chars().count() - name.trim_start().chars().count());
                    let name = name.trim();
                    if name.is_empty() {
                        return err(name_at, "empty slot name");
                    }
                    let Some(slot) = Slot::from_name(name) else {
                        let known: Vec<&str> = Slot::ALL.iter().map(|s| s.name()).collect();
                        return err(
                            name_at,
                            format!("unknown slot `{name}` (known: {})", known.join(", ")),
                        );
                    };
                    let fallback = match fallback {
                        None => None,
                        Some(f) if f.trim().is_empty() => {
                            let at = open + 1 + inner.chars().take_while(|&c| c != '|').count();
                            return err(
                                at,
                                "blank fallback (drop the `|` to make the slot required)",
                            );
                        }
                        Some(f) => Some(f.to_owned()),
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Slot { slot, fallback });
                    i = j + 1;
                }
                c => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// The parsed pieces, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The slots the template uses, in order of appearance (repeats included).
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Slot { slot, .. } => Some(*slot),
            Piece::Text(_) => None,
        })
    }

    /// Whether the template uses `slot`.
    pub fn uses(&self, slot: Slot) -> bool {
        self.slots().any(|s| s == slot)
    }

    /// Fills the slots. `value` gives each slot's value; `None` or a blank value uses the
    /// fallback. Returns `None` when a required slot has no value. Values are inserted as
    /// given: escaping is the caller's job (see [`crate::greeting`]).
    pub fn render(&self, mut value: impl FnMut(Slot) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot { slot, fallback } => {
                    match value(*slot).filter(|v| !v.trim().is_empty()) {
                        Some(v) => out.push_str(&v),
                        None => out.push_str(fallback.as_deref()?),
                    }
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_slots_fallbacks_and_escapes() {
        let t = Template::parse("Hi {first_name|there}! {{x}} {product}").unwrap();
        assert_eq!(
            t.pieces(),
            &[
                Piece::Text("Hi ".into()),
                Piece::Slot {
                    slot: Slot::FirstName,
                    fallback: Some("there".into())
                },
                Piece::Text("! {x} ".into()),
                Piece::Slot {
                    slot: Slot::Product,
                    fallback: None
                },
            ]
        );
        assert!(t.uses(Slot::Product));
        assert_eq!(
            t.render(|_| None),
            None,
            "required product slot without value"
        );
        assert_eq!(
            t.render(|s| (s == Slot::Product).then(|| "Mug".into()))
                .as_deref(),
            Some("Hi there! {x} Mug")
        );
        // blank values fall back
        assert_eq!(
            Template::parse("Hi {first_name|there}")
                .unwrap()
                .render(|_| Some("  ".into()))
                .as_deref(),
            Some("Hi there")
        );
    }

    #[test]
    fn errors_carry_positions() {
        let cases = [
            ("", 0, "empty"),
            ("   ", 0, "empty"),
            ("Hi {first_name", 3, "unclosed"),
            ("Hi }", 3, "unmatched"),
            ("Hi {nope}", 4, "unknown slot"),
            ("Hi { nope }", 5, "unknown slot"),
            ("Hi {}", 4, "empty slot"),
            ("Hi {first_name|}", 14, "blank fallback"),
            ("Hi {first_name|{x}}", 15, "inside"),
            ("é {x}", 3, "unknown slot"),
        ];
        for (text, pos, what) in cases {
            let e = Template::parse(text).unwrap_err();
            assert_eq!(e.position, pos, "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
        }
        let long = "a".repeat(MAX_TEMPLATE_CHARS + 1);
        assert!(Template::parse(&long).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Template::parse(&s);
        }

        #[test]
        fn never_panics_on_brace_soup(s in "[{}|a-z_ é\u{0}\n]{0,60}") {
            if let Ok(t) = Template::parse(&s) {
                let _ = t.render(|_| Some("v".into()));
            }
        }

        #[test]
        fn error_positions_are_inside_the_text(s in "[{}|a-z_ ]{0,40}") {
            if let Err(e) = Template::parse(&s) {
                prop_assert!(e.position <= s.chars().count());
            }
        }

        #[test]
        fn plain_text_round_trips(s in "[^{}]{1,80}") {
            prop_assume!(!s.trim().is_empty());
            let t = Template::parse(&s).unwrap();
            prop_assert_eq!(t.render(|_| None), Some(s));
        }
    }
}
