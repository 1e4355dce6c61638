//! Tokio baseline benchmark: spawn_many / yield_many / chained_spawn / ping_pong on a
//! multi-thread runtime with 1 and 2 worker threads. Shapes mirror tokio's
//! benches/rt_multi_threaded.rs, at the sizes of weft's bench/scheduler_bench.cpp, so the
//! two are compared by ratio on one machine (BUILD_NOTES.md, Figures).
//!
//! Usage: tokio-baseline [--reps N] [--warmup N] [--threads 1,2]
//! Defaults: --reps 7 --warmup 1 --threads 1,2

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::Instant;

const SPAWN_MANY_N: usize = 1_000_000;
const YIELD_TASKS: usize = 200;
const YIELD_NUM: usize = 1_000;
const CHAIN_DEPTH: usize = 1_000_000;

/// Returns elapsed seconds for one repetition.
fn spawn_many(rt: &tokio::runtime::Runtime) -> f64 {
    let (tx, rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(SPAWN_MANY_N));
    let start = Instant::now();
    rt.spawn(async move {
        for _ in 0..SPAWN_MANY_N {
            let tx = tx.clone();
            let rem = rem.clone();
            tokio::spawn(async move {
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            });
        }
    });
    rx.recv().unwrap();
    start.elapsed().as_secs_f64()
}

fn yield_many(rt: &tokio::runtime::Runtime) -> f64 {
    let (tx, rx) = mpsc::sync_channel::<()>(YIELD_TASKS);
    let start = Instant::now();
    for _ in 0..YIELD_TASKS {
        let tx = tx.clone();
        rt.spawn(async move {
            for _ in 0..YIELD_NUM {
                tokio::task::yield_now().await;
            }
            tx.send(()).unwrap();
        });
    }
    for _ in 0..YIELD_TASKS {
        rx.recv().unwrap();
    }
    start.elapsed().as_secs_f64()
}

fn chain_iter(done_tx: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done_tx.send(()).unwrap();
    } else {
        tokio::spawn(async move {
            chain_iter(done_tx, n - 1);
        });
    }
}

fn chained_spawn(rt: &tokio::runtime::Runtime) -> f64 {
    let (tx, rx) = mpsc::sync_channel::<()>(1000);
    let start = Instant::now();
    // chain_iter(tx, CHAIN_DEPTH) spawns exactly CHAIN_DEPTH tasks in total.
    rt.spawn(async move {
        chain_iter(tx, CHAIN_DEPTH);
    });
    rx.recv().unwrap();
    start.elapsed().as_secs_f64()
}

const PING_PONG_ROUNDS: usize = 1_000_000;

/// Two tasks bounce a value over two bounded channels of capacity 1 (weft's BM_ping_pong over
/// two Queues of capacity 1). ops = round trips.
fn ping_pong(rt: &tokio::runtime::Runtime) -> f64 {
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1);
    let start = Instant::now();
    rt.spawn(async move {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<usize>(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<usize>(1);
        let ponger = tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                if pong_tx.send(v).await.is_err() {
                    break;
                }
            }
        });
        for i in 0..PING_PONG_ROUNDS {
            ping_tx.send(i).await.unwrap();
            pong_rx.recv().await.unwrap();
        }
        drop(ping_tx);
        ponger.await.unwrap();
        done_tx.send(()).unwrap();
    });
    done_rx.recv().unwrap();
    start.elapsed().as_secs_f64()
}

fn parse_args() -> (usize, usize, Vec<usize>) {
    let mut reps = 7;
    let mut warmup = 1;
    let mut threads = vec![1, 2];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--reps" => reps = val.parse().expect("--reps N"),
            "--warmup" => warmup = val.parse().expect("--warmup N"),
            "--threads" => {
                threads = val
                    .split(',')
                    .map(|s| s.trim().parse().expect("--threads 1,2"))
                    .collect()
            }
            "-h" | "--help" => {
                eprintln!("usage: tokio-baseline [--reps N] [--warmup N] [--threads 1,2]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    assert!(reps >= 1, "--reps must be >= 1");
    (reps, warmup, threads)
}

fn main() {
    let (reps, warmup, threads) = parse_args();
    type Shape = (&'static str, fn(&tokio::runtime::Runtime) -> f64, f64);
    let shapes: [Shape; 4] = [
        ("spawn_many", spawn_many, SPAWN_MANY_N as f64),
        ("yield_many", yield_many, (YIELD_TASKS * YIELD_NUM) as f64),
        ("chained_spawn", chained_spawn, CHAIN_DEPTH as f64),
        ("ping_pong", ping_pong, PING_PONG_ROUNDS as f64),
    ];

    eprintln!("# tokio-baseline: reps={reps} warmup={warmup} threads={threads:?}");
    println!("{:<14} {:>7} {:>18} {:>14} {:>14}", "shape", "threads", "median_ops_per_s", "min", "max");
    for &n in &threads {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()
            .unwrap();
        for (name, f, ops) in shapes.iter() {
            for _ in 0..warmup {
                f(&rt);
            }
            let mut rates: Vec<f64> = (0..reps).map(|_| ops / f(&rt)).collect();
            rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let median = if reps % 2 == 1 {
                rates[reps / 2]
            } else {
                (rates[reps / 2 - 1] + rates[reps / 2]) / 2.0
            };
            println!(
                "{:<14} {:>7} {:>18.0} {:>14.0} {:>14.0}",
                name, n, median, rates[0], rates[reps - 1]
            );
        }
        drop(rt);
    }
}
