//! The process's heap, as the operating system sees it. glibc's allocator keeps memory it
//! has been given back (in every thread's arena) for reuse, so after churn — thousands of
//! connections opened and closed, frames of every size — a long meeting's resident size
//! creeps up even though the live heap does not. Every [`TRIM_EVERY`] a small task asks
//! the allocator to return its free pages (`malloc_trim`), which keeps RSS flat over hours
//! (BENCHMARKS.md, soak). [`heap_in_use`] is what the heap really holds, for `/metrics`:
//! the figure that tells growth of data from retention. Both do nothing off glibc.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often free memory is handed back. Trimming walks the arenas' free lists: well under
/// a millisecond for this server's heap, and done on a blocking thread.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Bytes the allocator has handed out and not had back (small and mmapped blocks), or
/// `None` where that cannot be read.
pub fn heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Returns the allocator's free pages to the system, in every arena.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the arenas' locks itself; 0 keeps no extra padding.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims every [`TRIM_EVERY`] until `shutdown`.
pub async fn keep_trimmed(shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn heap_in_use_sees_an_allocation() {
        let Some(before) = super::heap_in_use() else {
            return;
        };
        let block = vec![7u8; 1 << 20];
        let during = super::heap_in_use().unwrap();
        assert!(during >= before + (1 << 20) - 4096, "{before} -> {during}");
        drop(block);
        super::trim();
    }
}
