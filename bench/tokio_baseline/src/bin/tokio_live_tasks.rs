//! tokio_live_tasks: the memory one live spawned task costs on Tokio, the shape of weft's
//! bench/live_tasks.cpp (scripts/bench-live-tasks runs both).
//!
//!   tokio_live_tasks [N]     (default 1,000,000)
//!
//! A current_thread runtime spawns N tasks that each wait on one shared Notify, yields until
//! every one of them has been polled once (and so is parked on the Notify), and reads VmRSS
//! before the first spawn and at that point. Prints "tokio live_tasks N bytes_per_task".

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::Notify;

fn resident_bytes() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmRSS:") {
            let kib: i64 = rest.trim().trim_end_matches("kB").trim().parse().expect("VmRSS");
            return kib * 1024;
        }
    }
    -1
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N: a count"))
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let per_task = local.block_on(&rt, async move {
        let gate = Arc::new(Notify::new());
        let started = Rc::new(Cell::new(0u64));
        let before = resident_bytes();
        for _ in 0..n {
            let gate = gate.clone();
            let started = started.clone();
            // spawn_local: the counter is a plain Cell, as weft's is a plain integer.
            tokio::task::spawn_local(async move {
                let notified = gate.notified();
                started.set(started.get() + 1);
                notified.await;
            });
        }
        while started.get() < n {
            tokio::task::yield_now().await;
        }
        let during = resident_bytes();
        gate.notify_waiters();
        tokio::task::yield_now().await;
        (during - before) as f64 / n as f64
    });
    println!("tokio live_tasks {} {:.0}", n, per_task);
}
