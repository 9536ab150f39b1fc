//! `sockcat sendfile`: send a file (or part of one) with sendfile(2), or receive one with `--receive`;
//! `--verify` checks name, size and SHA-256 end to end.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};

use crate::cli::SendfileArgs;
use crate::exit;
use crate::net::addr::{Family, display, parse_bind_endpoint, parse_endpoint};
use crate::net::connect::{ConnectOpts, connect};
use crate::net::socket::{self, ListenOpts, describe_sockaddr};
use crate::net::transfer::staged::{self, Staged};
use crate::net::transfer::{self, Range};
use crate::progress;
use crate::sys::fs as sysfs;

pub(crate) fn run(args: &SendfileArgs) -> Result<()> {
    if args.receive {
        receive(args)
    } else {
        send(args)
    }
}

/// `N bytes in S s (R MiB/s)`.
fn summary(verb: &str, bytes: u64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        bytes as f64 / secs / (1u64 << 20) as f64
    } else {
        0.0
    };
    format!("{verb} {bytes} bytes in {secs:.3} s ({rate:.1} MiB/s)")
}

/// Opens FILE for sending: missing, a directory, unreadable or not a regular file is status 2.
fn open_source(path: &Path) -> Result<(File, u64)> {
    let bad = |why: String| exit::usage(format!("{}: {why}", path.display()));
    let file = File::open(path).map_err(|e| bad(exit::describe_io(&e)))?;
    let meta = file.metadata().map_err(|e| bad(exit::describe_io(&e)))?;
    if meta.is_dir() {
        return Err(bad("is a directory".into()));
    }
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    Ok((file, meta.len()))
}

fn send(args: &SendfileArgs) -> Result<()> {
    let (path, endpoint) = match args.args.split_first() {
        Some((path, rest)) if !rest.is_empty() => (PathBuf::from(path), rest),
        _ => {
            return Err(exit::usage(
                "give FILE HOST PORT (or --receive [ADDR] PORT)",
            ));
        }
    };
    let target = parse_endpoint(endpoint)?;
    let (file, size) = open_source(&path)?;
    let offset = args.offset.unwrap_or(0);
    if offset > size {
        return Err(exit::usage(format!(
            "--offset {offset} is past the end of {} ({size} bytes)",
            path.display()
        )));
    }
    let count = args.count.unwrap_or(size - offset);
    if count > size - offset {
        return Err(exit::usage(format!(
            "--count {count}: {} has only {} bytes after offset {offset}",
            path.display(),
            size - offset
        )));
    }
    let range = Range { offset, count };

    let opts = ConnectOpts {
        family: Family::from(args.family),
        timeout: args.timeout,
        ..ConnectOpts::default()
    };
    let (sock, addr) = connect(&target, &opts, None)?;
    if args.verbose > 0 {
        crate::diag!("connected to {}", display(&addr));
    }
    let started = Instant::now();
    let bar = progress::bytes(Some(count), !args.no_progress);
    let moved = |n: u64| bar.inc(n);
    let result = if args.verify {
        let name = path.file_name().map(|n| n.as_bytes()).unwrap_or(b"file");
        transfer::send_verified(&sock, &file, range, name, &moved)
    } else {
        transfer::send_range(&sock, &file, range, &moved)
            .and_then(|()| transfer::finish_sending(&sock))
    };
    bar.finish_and_clear();
    result?;
    if args.verbose > 0 {
        crate::diag!("{}", summary("sent", count, started));
    }
    Ok(())
}

/// Where received bytes go.
enum Dest {
    Stdout,
    /// This file (created by way of a staged temporary file).
    File(PathBuf),
    /// Inside this directory, under the sender's name (--verify only).
    Dir(PathBuf),
}

fn destination(args: &SendfileArgs) -> Result<Dest> {
    let Some(path) = &args.output else {
        return Ok(Dest::Stdout);
    };
    if path.is_dir() {
        if !args.verify {
            return Err(exit::usage(format!(
                "-o {}: a directory needs --verify (the file name comes with it)",
                path.display()
            )));
        }
        return Ok(Dest::Dir(path.clone()));
    }
    staged::check_target(path, args.force)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(exit::usage(format!(
            "-o {}: no such directory: {}",
            path.display(),
            dir.display()
        )));
    }
    Ok(Dest::File(path.clone()))
}

/// Refuses a size that the file system holding `dir` cannot take.
fn check_space(dir: &Path, size: u64) -> Result<()> {
    if let Ok(free) = sysfs::available_space(dir)
        && size > free
    {
        return Err(anyhow!(
            "the file ({size} bytes) does not fit in {} ({free} bytes free)",
            dir.display()
        ));
    }
    Ok(())
}

fn receive(args: &SendfileArgs) -> Result<()> {
    let family = Family::from(args.family);
    let (addr, port) = parse_bind_endpoint(&args.args, family, "tcp")?;
    let dest = destination(args)?;
    let (listener, local) = socket::tcp_listener(addr, port, family, &ListenOpts::default())?;
    let shown = display(&local);
    if args.verbose > 0 {
        crate::diag!("listening on {shown}");
    }
    let (sock, peer) = match socket::accept(&listener, args.timeout)
        .with_context(|| format!("accept on {shown}"))?
    {
        Some(pair) => pair,
        None => {
            let waited = humantime::format_duration(args.timeout.unwrap_or_default());
            return Err(exit::timeout(format!(
                "no sender connected to {shown} within {waited}"
            )));
        }
    };
    drop(listener);
    if args.verbose > 0 {
        crate::diag!("connection from {}", describe_sockaddr(&peer));
    }

    let started = Instant::now();
    let bar = progress::bytes(None, !args.no_progress);
    let moved = |n: u64| bar.inc(n);
    let result = if args.verify {
        receive_verified(&sock, &dest, args.force, &bar, &moved)
    } else {
        receive_plain(&sock, &dest, args.force, &moved, !bar.is_hidden())
    };
    bar.finish_and_clear();
    let bytes = result?;
    if args.verbose > 0 {
        crate::diag!("{}", summary("received", bytes, started));
    }
    Ok(())
}

fn receive_plain(
    sock: &socket2::Socket,
    dest: &Dest,
    force: bool,
    moved: &dyn Fn(u64),
    watched: bool,
) -> Result<u64> {
    match dest {
        Dest::Stdout => {
            let out = crate::stdio::Output::stdout()?;
            transfer::receive_plain(sock, &out.file, "stdout", moved, watched)
        }
        Dest::File(path) => {
            let staged = Staged::create(path, force)?;
            let name = path.display().to_string();
            let bytes = transfer::receive_plain(sock, staged.file(), &name, moved, watched)?;
            staged.commit()?;
            Ok(bytes)
        }
        Dest::Dir(_) => unreachable!("-o DIR is refused without --verify"),
    }
}

fn receive_verified(
    sock: &socket2::Socket,
    dest: &Dest,
    force: bool,
    bar: &indicatif::ProgressBar,
    moved: &dyn Fn(u64),
) -> Result<u64> {
    enum Sink {
        Stdout(File),
        Staged(Staged),
    }
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self {
                Sink::Stdout(f) => f.write(buf),
                Sink::Staged(s) => s.file().write(buf),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let open = |header: &crate::net::transfer::verify::Header| -> Result<Sink> {
        progress::set_total(bar, Some(header.size));
        let target = match dest {
            Dest::Stdout => {
                return Ok(Sink::Stdout(crate::stdio::Output::stdout()?.file));
            }
            Dest::File(path) => path.clone(),
            Dest::Dir(dir) => {
                let target = dir.join(crate::net::transfer::verify::safe_name(&header.name)?);
                // The sender picked this name: never write into a device or FIFO it points at.
                if staged::is_special(&target) {
                    return Err(anyhow!(
                        "refusing to write into {}: not a regular file",
                        target.display()
                    ));
                }
                target
            }
        };
        if !staged::is_special(&target) {
            if !force && target.exists() {
                return Err(anyhow!(
                    "{} already exists (use --force to replace it)",
                    target.display()
                ));
            }
            let dir = target.parent().unwrap_or(Path::new("."));
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            check_space(dir, header.size)?;
        }
        Ok(Sink::Staged(Staged::create(&target, force)?))
    };
    let name = match dest {
        Dest::Stdout => "stdout".to_string(),
        Dest::File(p) | Dest::Dir(p) => p.display().to_string(),
    };
    let (header, sink) = transfer::receive_verified(sock, open, &name, moved)?;
    let committed = match sink {
        Sink::Stdout(_) => Ok(()),
        Sink::Staged(staged) => staged.commit(),
    };
    transfer::answer(sock, &committed);
    committed?;
    Ok(header.size)
}
