//! Tokio baseline benchmark: the shapes of weft's Google Benchmark binaries, on Tokio, at the
//! same sizes, so the two are compared by ratio on one machine (BUILD_NOTES.md, Figures). A
//! shape's name is its weft benchmark's without the `BM_` prefix:
//!
//! | shape             | weft benchmark                                 |
//! |-------------------|------------------------------------------------|
//! | spawn_many        | weft_bench_scheduler BM_spawn_many/loops:N     |
//! | yield_many        | weft_bench_scheduler BM_yield_many/loops:N     |
//! | chained_spawn     | weft_bench_scheduler BM_chained_spawn/loops:N  |
//! | ping_pong         | weft_bench_sync BM_ping_pong/loops:N           |
//! | queue_mpmc        | weft_bench_sync BM_queue_mpmc/loops:N          |
//! | wait_for_overhead | weft_bench_gather BM_wait_for_overhead/loops:N |
//! | wait_for_yield    | weft_bench_gather BM_wait_for_yield/loops:N    |
//!
//! Each shape runs on every runtime asked for: `current_thread` (what a Tokio user picks for
//! one event loop; compare with weft's loops:1) and `multi_thread:N` (N worker threads;
//! compare with loops:N).
//!
//! As in weft's benchmarks, the runtime is built once per flavour, outside the timed part, and
//! the driver of every repetition is a spawned task: the main thread spawns it and waits on
//! its JoinHandle in block_on (on current_thread that wait is what drives the scheduler).
//! The last task of a shape signals the driver (a Notify), not the main thread: on
//! current_thread the main thread is the scheduler and cannot block on a std channel.
//!
//! Usage: tokio-baseline [--reps N] [--warmup N] [--threads 1,2]
//!                       [--flavor current_thread,multi_thread] [--shapes NAME,...]
//! Defaults: --reps 7 --warmup 1 --threads 1,2 --flavor current_thread,multi_thread, every
//! shape: current_thread, multi_thread:1 and multi_thread:2. `multi_thread` without a count
//! takes every count of --threads; `multi_thread:4` names one.
//!
//! Output (stdout), one row per runtime and shape, whitespace-separated under a header line:
//!     shape  threads  median_ops_per_s  min  max  flavor
//! `flavor` is the last column so readers of the older five-column rows keep working.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::AcqRel};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const SPAWN_MANY_N: usize = 1_000_000;
const YIELD_TASKS: usize = 200;
const YIELD_NUM: usize = 1_000;
const CHAIN_DEPTH: usize = 1_000_000;
const PING_PONG_ROUNDS: usize = 1_000_000;
const MPMC_PRODUCERS: usize = 4;
const MPMC_CONSUMERS: usize = 4;
const MPMC_CAPACITY: usize = 1024;
const MPMC_PER_PRODUCER: usize = 250_000;
const WAIT_FORS: usize = 10_000;
/// Rounds of WAIT_FORS per repetition. One round takes well under a millisecond on Tokio, so
/// a repetition of one round would be much of it the driver's spawn, the main thread's
/// wake-up and noise; Google Benchmark likewise repeats weft's round (one block_on of the
/// 10k-call driver) until the total is long enough to time.
const WAIT_FOR_ROUNDS: usize = 50;

/// Spawns `driver` on `rt`, waits for it and returns the elapsed seconds.
fn drive<F>(rt: &tokio::runtime::Runtime, driver: F) -> f64
where
    F: Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let handle = rt.spawn(driver);
    rt.block_on(handle).unwrap();
    start.elapsed().as_secs_f64()
}

/// The signal the last of many detached tasks gives to the driver. Notify keeps a permit if
/// the driver is not waiting yet, so a signal given before `wait` is not lost.
struct Countdown {
    remaining: AtomicUsize,
    done: Notify,
}

impl Countdown {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Countdown {
            remaining: AtomicUsize::new(n),
            done: Notify::new(),
        })
    }
    // AcqRel: the last decrement sees every other task's work.
    fn count_down(&self) {
        if self.remaining.fetch_sub(1, AcqRel) == 1 {
            self.done.notify_one();
        }
    }
    async fn wait(&self) {
        self.done.notified().await;
    }
}

/// One driver spawns SPAWN_MANY_N tasks that each count down a shared counter (one Arc
/// clone per task; weft's passes a pointer).
fn spawn_many(rt: &tokio::runtime::Runtime) -> f64 {
    drive(rt, async {
        let done = Countdown::new(SPAWN_MANY_N);
        for _ in 0..SPAWN_MANY_N {
            let done = done.clone();
            tokio::spawn(async move { done.count_down() });
        }
        done.wait().await;
    })
}

/// One driver spawns YIELD_TASKS tasks that each yield YIELD_NUM times.
fn yield_many(rt: &tokio::runtime::Runtime) -> f64 {
    drive(rt, async {
        let done = Countdown::new(YIELD_TASKS);
        for _ in 0..YIELD_TASKS {
            let done = done.clone();
            tokio::spawn(async move {
                for _ in 0..YIELD_NUM {
                    tokio::task::yield_now().await;
                }
                done.count_down();
            });
        }
        done.wait().await;
    })
}

fn chain_iter(done: Arc<Countdown>, n: usize) {
    if n == 0 {
        done.count_down();
    } else {
        tokio::spawn(async move {
            chain_iter(done, n - 1);
        });
    }
}

/// Each task spawns the next; chain_iter(done, CHAIN_DEPTH) spawns CHAIN_DEPTH tasks in all.
fn chained_spawn(rt: &tokio::runtime::Runtime) -> f64 {
    drive(rt, async {
        let done = Countdown::new(1);
        chain_iter(done.clone(), CHAIN_DEPTH);
        done.wait().await;
    })
}

/// Two tasks bounce a value over two bounded channels of capacity 1 (weft's BM_ping_pong over
/// two Queues of capacity 1). ops = round trips.
fn ping_pong(rt: &tokio::runtime::Runtime) -> f64 {
    drive(rt, async {
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
    })
}

/// MPMC_PRODUCERS producers and MPMC_CONSUMERS consumers over one bounded channel of
/// MPMC_CAPACITY (weft's BM_queue_mpmc over one Queue(1024)). Tokio has no multi-consumer
/// queue of its own (its mpsc has one receiver), so this is async-channel, the
/// runtime-independent MPMC channel Tokio users reach for, on Tokio's scheduler. ops = messages.
fn queue_mpmc(rt: &tokio::runtime::Runtime) -> f64 {
    drive(rt, async {
        let (tx, rx) = async_channel::bounded::<u64>(MPMC_CAPACITY);
        let consumers: Vec<_> = (0..MPMC_CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    // Err once every sender is gone and the channel is drained: the normal end.
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        let producers: Vec<_> = (0..MPMC_PRODUCERS)
            .map(|_| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..MPMC_PER_PRODUCER as u64 {
                        tx.send(i).await.unwrap();
                    }
                })
            })
            .collect();
        // The producers' clones are the only senders left: the channel closes when the last
        // producer ends, as weft's driver closes its Queue after joining them.
        drop(tx);
        for p in producers {
            p.await.unwrap();
        }
        let mut total = 0u64;
        for c in consumers {
            total += c.await.unwrap();
        }
        // Each producer sends 0..MPMC_PER_PRODUCER: a lost or duplicated message changes it.
        let n = MPMC_PER_PRODUCER as u64;
        assert_eq!(
            total,
            MPMC_PRODUCERS as u64 * (n * (n - 1) / 2),
            "queue_mpmc lost a message"
        );
    })
}

/// WAIT_FOR_ROUNDS rounds, each a driver task making WAIT_FORS timeout calls in a row with a
/// 10 s deadline that never passes. `yield_once` makes the inner future yield once before it
/// returns, so the timer is polled and registered (wait_for_yield); without it the inner
/// future is ready at its first poll and Timeout returns before touching the timer
/// (wait_for_overhead).
fn wait_for_rounds(rt: &tokio::runtime::Runtime, yield_once: bool) -> f64 {
    let mut seconds = 0.0;
    for _ in 0..WAIT_FOR_ROUNDS {
        seconds += drive(rt, async move {
            let mut sum = 0usize;
            for i in 0..WAIT_FORS {
                let work = async move {
                    if yield_once {
                        tokio::task::yield_now().await;
                    }
                    i
                };
                sum += tokio::time::timeout(Duration::from_secs(10), work)
                    .await
                    .unwrap();
            }
            assert_eq!(std::hint::black_box(sum), WAIT_FORS * (WAIT_FORS - 1) / 2);
        });
    }
    seconds
}

fn wait_for_overhead(rt: &tokio::runtime::Runtime) -> f64 {
    wait_for_rounds(rt, false)
}

fn wait_for_yield(rt: &tokio::runtime::Runtime) -> f64 {
    wait_for_rounds(rt, true)
}

type Shape = (&'static str, fn(&tokio::runtime::Runtime) -> f64, f64);
const SHAPES: [Shape; 7] = [
    ("spawn_many", spawn_many, SPAWN_MANY_N as f64),
    ("yield_many", yield_many, (YIELD_TASKS * YIELD_NUM) as f64),
    ("chained_spawn", chained_spawn, CHAIN_DEPTH as f64),
    ("ping_pong", ping_pong, PING_PONG_ROUNDS as f64),
    (
        "queue_mpmc",
        queue_mpmc,
        (MPMC_PRODUCERS * MPMC_PER_PRODUCER) as f64,
    ),
    (
        "wait_for_overhead",
        wait_for_overhead,
        (WAIT_FOR_ROUNDS * WAIT_FORS) as f64,
    ),
    (
        "wait_for_yield",
        wait_for_yield,
        (WAIT_FOR_ROUNDS * WAIT_FORS) as f64,
    ),
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Flavor {
    CurrentThread,
    MultiThread(usize),
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current_thread",
            Flavor::MultiThread(_) => "multi_thread",
        }
    }
    fn threads(self) -> usize {
        match self {
            Flavor::CurrentThread => 1,
            Flavor::MultiThread(n) => n,
        }
    }
    fn build(self) -> tokio::runtime::Runtime {
        let mut builder = match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread(n) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
        };
        // enable_all: the timer driver the wait_for shapes need, as a Tokio user's runtime has.
        builder.enable_all().build().unwrap()
    }
}

struct Options {
    reps: usize,
    warmup: usize,
    flavors: Vec<Flavor>,
    shapes: Vec<Shape>,
}

const USAGE: &str = "usage: tokio-baseline [--reps N] [--warmup N] [--threads 1,2] \
                     [--flavor current_thread,multi_thread[:N]] [--shapes NAME,...]";

fn usage_error(message: String) -> ! {
    eprintln!("tokio-baseline: {message}\n{USAGE}");
    std::process::exit(2);
}

fn parse_count(text: &str, flag: &str) -> usize {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => n,
        _ => usage_error(format!("{flag} takes counts from 1 up, not '{text}'")),
    }
}

/// `--flavor` entries resolved against `--threads` (whichever order they came in).
fn resolve_flavors(spec: &str, threads: &[usize]) -> Vec<Flavor> {
    let mut out = Vec::new();
    let mut add = |f: Flavor| {
        if !out.contains(&f) {
            out.push(f);
        }
    };
    for item in spec.split(',').map(str::trim) {
        match item.split_once(':') {
            None if item == "current_thread" => add(Flavor::CurrentThread),
            None if item == "multi_thread" => {
                threads.iter().for_each(|&n| add(Flavor::MultiThread(n)))
            }
            Some(("multi_thread", n)) => add(Flavor::MultiThread(parse_count(n, "multi_thread:N"))),
            _ => usage_error(format!(
                "--flavor takes current_thread, multi_thread or multi_thread:N, not '{item}'"
            )),
        }
    }
    out
}

fn parse_args() -> Options {
    let mut reps = 7;
    let mut warmup = 1;
    let mut threads = vec![1, 2];
    let mut flavor_spec = "current_thread,multi_thread".to_string();
    let mut shapes: Vec<Shape> = SHAPES.to_vec();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if matches!(args[i].as_str(), "-h" | "--help") {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let Some(val) = args.get(i + 1).cloned() else {
            usage_error(format!("{} needs a value", args[i]))
        };
        match args[i].as_str() {
            "--reps" => reps = parse_count(&val, "--reps"),
            "--warmup" => {
                warmup = val
                    .parse()
                    .unwrap_or_else(|_| usage_error(format!("--warmup N, not '{val}'")))
            }
            "--threads" => {
                threads = val
                    .split(',')
                    .map(|s| parse_count(s, "--threads"))
                    .collect()
            }
            "--flavor" | "--flavour" => flavor_spec = val,
            "--shapes" => {
                shapes = val
                    .split(',')
                    .map(|name| {
                        let name = name.trim();
                        *SHAPES.iter().find(|s| s.0 == name).unwrap_or_else(|| {
                            let known: Vec<_> = SHAPES.iter().map(|s| s.0).collect();
                            usage_error(format!("no shape '{name}' (shapes: {})", known.join(",")))
                        })
                    })
                    .collect()
            }
            other => usage_error(format!("unknown argument {other}")),
        }
        i += 2;
    }
    let flavors = resolve_flavors(&flavor_spec, &threads);
    Options {
        reps,
        warmup,
        flavors,
        shapes,
    }
}

fn main() {
    let Options {
        reps,
        warmup,
        flavors,
        shapes,
    } = parse_args();
    let runtimes: Vec<String> = flavors
        .iter()
        .map(|f| match f {
            Flavor::CurrentThread => f.name().to_string(),
            Flavor::MultiThread(n) => format!("{}:{n}", f.name()),
        })
        .collect();
    eprintln!(
        "# tokio-baseline: reps={reps} warmup={warmup} runtimes={}",
        runtimes.join(",")
    );
    eprintln!("# weft's name for a row: BM_<shape>/loops:<threads>");
    println!(
        "{:<18} {:>7} {:>18} {:>14} {:>14} {:>14}",
        "shape", "threads", "median_ops_per_s", "min", "max", "flavor"
    );
    for &flavor in &flavors {
        let rt = flavor.build();
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
                "{:<18} {:>7} {:>18.0} {:>14.0} {:>14.0} {:>14}",
                name,
                flavor.threads(),
                median,
                rates[0],
                rates[reps - 1],
                flavor.name()
            );
        }
        drop(rt);
    }
}
