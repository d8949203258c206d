//! `FactorTable`: the core's scoring kernels over a table of product vectors held in WASM
//! memory — the exact f32 scan ([`rapport::topk::top_k`]) and the int8 scan with exact
//! re-scoring ([`rapport::quantized::QuantizedItems`]) that recommendations use on large
//! catalogs — for custom models and for timing the hot path in a browser.

use crate::convert::{Obj, count_arg, floats};
use crate::error::{JsResult, invalid};
use js_sys::{Float32Array, Uint32Array};
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rapport::quantized::QuantizedItems;
use std::cell::OnceCell;
use wasm_bindgen::prelude::*;

/// Most numbers `FactorTable.random` makes (256 MB).
const MAX_RANDOM: usize = 1 << 26;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The best products for a query vector, best first, as parallel arrays. */
export interface TopK {
  /** Row indices into the table. */
  items: Uint32Array;
  /** Dot products of the query with those rows. */
  scores: Float32Array;
}
"#;

/// A row-major table of product vectors (one row per product, `factors` columns) kept in WASM
/// memory, scored against query vectors by the kernels behind `Engine.recommend`.
#[wasm_bindgen]
pub struct FactorTable {
    items: Array2<f32>,
    /// The int8 copy, built by the first `topKQuantized` (`None` when a value is not finite).
    quantized: OnceCell<Option<QuantizedItems>>,
}

impl FactorTable {
    fn from_items(items: Array2<f32>) -> Self {
        FactorTable {
            items,
            quantized: OnceCell::new(),
        }
    }

    /// A query vector of the table's width.
    fn query(&self, query: &JsValue) -> JsResult<Vec<f32>> {
        let query = floats(query, "query")?;
        if query.len() == self.items.ncols() {
            Ok(query)
        } else {
            Err(invalid(format!(
                "query has {} numbers, the table's rows have {}",
                query.len(),
                self.items.ncols()
            )))
        }
    }
}

/// `{ items, scores }` for JS.
fn top_k_result(best: &[rapport::topk::Scored]) -> JsValue {
    let items: Vec<u32> = best.iter().map(|s| s.item).collect();
    let scores: Vec<f32> = best.iter().map(|s| s.score).collect();
    Obj::new()
        .set("items", Uint32Array::from(items.as_slice()))
        .set("scores", Float32Array::from(scores.as_slice()))
        .build()
}

#[wasm_bindgen]
impl FactorTable {
    /// A table from `data` (copied), `data.length / factors` rows of `factors` numbers.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Float32Array | number[]")] data: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] factors: JsValue,
    ) -> JsResult<FactorTable> {
        let data = floats(&data, "data")?;
        let f = count_arg(&factors, "factors")?;
        if f == 0 || data.len() % f != 0 {
            return Err(invalid(format!(
                "factors must be ≥ 1 and divide data.length ({}), got {f}",
                data.len()
            )));
        }
        let items = Array2::from_shape_vec((data.len() / f, f), data)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(FactorTable::from_items(items))
    }

    /// A `rows × factors` table of values drawn uniformly from [−1, 1) by rand's `StdRng`
    /// seeded with `seed`: the same numbers on every platform, so a native run
    /// (`examples/native_top10.rs`) scores exactly the same table. `factors` must be ≥ 1, as
    /// for the constructor.
    pub fn random(
        #[wasm_bindgen(unchecked_param_type = "number")] rows: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] factors: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    ) -> JsResult<FactorTable> {
        let (n, f) = (count_arg(&rows, "rows")?, count_arg(&factors, "factors")?);
        if f == 0 {
            return Err(invalid("factors must be ≥ 1, got 0"));
        }
        if n.checked_mul(f).is_none_or(|len| len > MAX_RANDOM) {
            return Err(invalid(format!(
                "a {n} × {f} table is too large (at most {MAX_RANDOM} numbers)"
            )));
        }
        let mut rng = StdRng::seed_from_u64(count_arg(&seed, "seed")? as u64);
        let items = Array2::from_shape_fn((n, f), |_| rng.random_range(-1.0f32..1.0));
        Ok(FactorTable::from_items(items))
    }

    /// Number of rows (products).
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.items.nrows()
    }

    /// Length of each row.
    #[wasm_bindgen(getter)]
    pub fn factors(&self) -> usize {
        self.items.ncols()
    }

    /// A copy of row `index`.
    pub fn row(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] index: JsValue,
    ) -> JsResult<Float32Array> {
        let i = count_arg(&index, "index")?;
        if i >= self.items.nrows() {
            return Err(invalid(format!(
                "row {i} is out of range: the table has {} rows",
                self.items.nrows()
            )));
        }
        Ok(self
            .items
            .row(i)
            .as_slice()
            .map(Float32Array::from)
            .unwrap_or_else(|| Float32Array::new_with_length(0)))
    }

    /// The `k` rows with the highest dot product with `query` (ties: lower index first), by
    /// the exact f32 scan.
    #[wasm_bindgen(js_name = topK, unchecked_return_type = "TopK")]
    pub fn top_k(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array | number[]")] query: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
    ) -> JsResult<JsValue> {
        let query = &self.query(&query)?;
        let k = count_arg(&k, "k")?;
        Ok(top_k_result(&rapport::topk::top_k(
            self.items.view(),
            query,
            k,
            None,
        )))
    }

    /// The same rows as `topK`, found through an int8 copy of the table (built by the first
    /// call) with exact f32 re-scoring of a shortlist: what `Engine.recommend` uses on large
    /// catalogs (2048 products or more, and `k` at most a sixteenth of them).
    #[wasm_bindgen(js_name = topKQuantized, unchecked_return_type = "TopK")]
    pub fn top_k_quantized(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array | number[]")] query: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
    ) -> JsResult<JsValue> {
        let query = &self.query(&query)?;
        let k = count_arg(&k, "k")?;
        let view = self.items.view();
        let best = match self.quantized.get_or_init(|| QuantizedItems::new(view)) {
            Some(table) => table.top_k(view, query, k, None),
            None => rapport::topk::top_k(view, query, k, None),
        };
        Ok(top_k_result(&best))
    }
}
