//! Product indices past the model given to a query cost nothing: they are skipped before any
//! per-index set is grown, so one stray `u32::MAX` does not allocate half a gigabyte.
//!
//! A test binary of its own because it counts allocations through a global allocator.

use rapport::als::AlsConfig;
use rapport::interactions::{Interactions, Triple};
use rapport::recommender::{Filter, Recommender};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, remembering per thread the largest single request since the last
/// reset (per thread, so tests running side by side do not see each other's requests).
struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the slot may already be gone while a thread shuts down
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

/// The largest allocation `f` makes, with its result.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// Product 2 is the most popular (two buyers), then 1; product 0 has none.
fn three_products() -> Recommender {
    let t = [(0, 1), (1, 2), (2, 2)].map(|(user, item)| Triple {
        user,
        item,
        weight: 1.0,
    });
    let m = Interactions::from_triples(3, 3, &t).unwrap();
    let cfg = AlsConfig {
        factors: 2,
        iterations: 1,
        threads: 1,
        ..Default::default()
    };
    Recommender::train(&m, &cfg).unwrap()
}

#[test]
fn popular_skips_out_of_range_candidates_without_a_large_allocation() {
    let rec = three_products();
    let candidates = [u32::MAX, 2, 2, 0, 3];
    let filter = Filter {
        candidates: Some(&candidates),
        ..Default::default()
    };
    let (popular, largest) = largest_allocation(|| rec.popular(5, &[], &filter));
    let items: Vec<u32> = popular.iter().map(|s| s.item).collect();
    assert_eq!(items, [2, 0]);
    assert!(largest < 1 << 16, "popular allocated {largest} bytes");
}

#[test]
fn owned_products_past_the_model_are_not_added_to_the_exclusions() {
    let rec = three_products();
    // a fresh vector owning product 1 and one the model does not have
    let vector = rec.factors().user(0).to_vec();
    let owned = [u32::MAX - 1, 1];
    let (top, largest) =
        largest_allocation(|| rec.top_k_for(&vector, &owned, 5, &Filter::default()));
    let mut items: Vec<u32> = top.iter().map(|s| s.item).collect();
    items.sort_unstable();
    assert_eq!(items, [0, 2]);
    assert!(largest < 1 << 16, "top_k_for allocated {largest} bytes");
}
