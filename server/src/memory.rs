//! The process's allocator, and what its heap holds. glibc's allocator keeps memory it
//! has been given back, in every thread's arena and in pages pinned by a few long-lived
//! objects, so after hours of churn — thousands of connections opened and closed, frames
//! of every size, a register that grows by a name at a time — a meeting's resident size
//! crept up although its live heap did not (+55 % in a 30-minute soak, even with
//! `malloc_trim` every 10 s it kept rising). jemalloc sorts allocations by size class and
//! returns unused pages on its own after a few seconds (its decay), which keeps the
//! resident size flat (BENCHMARKS.md, soak). Every binary linking this crate (the server,
//! the tests, the load generators) runs on it. [`heap_in_use`] is what the heap really
//! holds, for `/metrics`: the figure that tells growth of data from memory retained.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Bytes the program has allocated and not freed, or `None` where that cannot be read.
pub fn heap_in_use() -> Option<u64> {
    #[cfg(not(target_env = "msvc"))]
    {
        // The statistics are a snapshot taken when the epoch advances.
        tikv_jemalloc_ctl::epoch::advance().ok()?;
        tikv_jemalloc_ctl::stats::allocated::read()
            .ok()
            .map(|b| b as u64)
    }
    #[cfg(target_env = "msvc")]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn heap_in_use_sees_an_allocation() {
        let before = super::heap_in_use().expect("jemalloc's statistics");
        let block = vec![7u8; 4 << 20];
        let during = super::heap_in_use().expect("jemalloc's statistics");
        // Other tests allocate at the same time: only a lower bound holds.
        assert!(during >= (4 << 20), "{before} -> {during}");
        assert_eq!(block[12345], 7);
    }
}
