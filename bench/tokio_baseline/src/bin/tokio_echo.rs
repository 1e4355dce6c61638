//! tokio_echo: the Tokio server of the TCP echo comparison (scripts/bench-echo-peers), the
//! protocol of bench/io/weft_echo.cpp and bench/io/raw_epoll_echo.c on Tokio.
//!
//!   tokio_echo PORT [--flavor current_thread|multi_thread] [--workers N]
//!
//! Defaults: current_thread; multi_thread without --workers takes Tokio's default (one worker
//! per CPU). One listener on 127.0.0.1:PORT (Tokio's bind: SO_REUSEADDR, backlog 1024, as
//! weft's) accepted from by one spawned task, which spawns a task per connection. That task
//! turns TCP_NODELAY on (weft's TcpStream and the C baseline do), allocates its 4 KiB buffer
//! once, then reads into it and writes back what it read until the peer closes. This is the
//! plain Tokio way to write the server: on multi_thread the connection tasks spread over the
//! workers by Tokio's own scheduling (work stealing), not by a listener per worker.
//!
//! Prints "tokio_echo listening on 127.0.0.1:PORT with FLAVOR (N workers)" once it accepts.
//! SIGINT and SIGTERM stop it cleanly and promptly, with exit status 0: both are registered
//! with tokio::signal before that line is printed (a shell script's background job starts
//! with SIGINT ignored; registering installs a handler, which ends that), the main thread
//! waits on either in block_on, then aborts the acceptor and shuts the runtime down, which
//! drops the connection tasks left; no task blocks a thread, so this takes no time, and the
//! shutdown waits at most 1 s for the workers regardless.

use std::future::poll_fn;
use std::process::ExitCode;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

/// The size of the baseline's buffer (raw_epoll_echo.c, weft_echo.cpp).
const BUFFER_SIZE: usize = 4096;

fn usage() -> ! {
    eprintln!("usage: tokio_echo PORT [--flavor current_thread|multi_thread] [--workers N]");
    std::process::exit(2);
}

async fn echo(mut stream: TcpStream) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let mut buffer = vec![0u8; BUFFER_SIZE];
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return, // end of stream, or the peer reset it
            Ok(n) => n,
        };
        if stream.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            Err(e) => {
                // E.g. out of fds: say so and back off a little rather than spin.
                eprintln!("tokio_echo: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        usage();
    }
    let port: u16 = args[1].parse().unwrap_or_else(|_| usage());
    let mut multi_thread = false;
    let mut workers: Option<usize> = None;
    let mut i = 2;
    while i < args.len() {
        let value = args.get(i + 1).unwrap_or_else(|| usage());
        match args[i].as_str() {
            "--flavor" => {
                multi_thread = match value.as_str() {
                    "current_thread" => false,
                    "multi_thread" => true,
                    _ => usage(),
                }
            }
            "--workers" => {
                workers = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| usage()),
                )
            }
            _ => usage(),
        }
        i += 2;
    }
    if workers.is_some() && !multi_thread {
        eprintln!("tokio_echo: --workers needs --flavor multi_thread");
        return ExitCode::from(2);
    }

    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    let runtime = match builder.enable_io().enable_time().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tokio_echo: runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let flavor = if multi_thread {
        format!(
            "multi_thread ({} workers)",
            workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        )
    } else {
        "current_thread".to_string()
    };

    let served = runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let acceptor = tokio::spawn(accept_loop(listener));
        println!("tokio_echo listening on 127.0.0.1:{port} with {flavor}");
        // Whichever comes first; `||` polls SIGTERM only while SIGINT is pending, which
        // registers this task's waker with both.
        poll_fn(|cx| {
            if interrupt.poll_recv(cx).is_ready() || terminate.poll_recv(cx).is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        acceptor.abort();
        Ok::<(), String>(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_echo: {e}");
            ExitCode::from(1)
        }
    }
}
