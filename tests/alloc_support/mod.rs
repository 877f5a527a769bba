//! The counting allocator of the allocation tests (`client_alloc`, `server_alloc`,
//! `syntax_command_alloc`): each test binary that declares `mod alloc_support;` gets it as
//! its global allocator. Allocations are counted per thread and only inside [`counted`] /
//! [`count`], so the test harness's own threads, which allocate at times of their choosing,
//! never show up in a count. The `unsafe impl GlobalAlloc` lives in the tests, not in the
//! library, which keeps `forbid(unsafe_code)`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with counting on; its allocations are added to this thread's [`total`].
pub fn counted<R>(f: impl FnOnce() -> R) -> R {
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    r
}

/// This thread's allocations counted so far.
pub fn total() -> usize {
    ALLOCS.with(Cell::get)
}

/// Runs `f` and returns how many allocations it made.
pub fn count<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = total();
    let r = counted(f);
    (total() - before, r)
}
