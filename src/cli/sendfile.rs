//! `sockcat sendfile`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::*;
use crate::net::parse::parse_duration_arg;

const SENDFILE_EXAMPLES: &str = "\
Sending: sendfile(2) from FILE (read/write where there is none), then a half-close; exit 0 once the
receiver's TCP has acknowledged every byte. Any receiver works: `nc -l 9000 > out` too.

Receiving (--receive): accept one connection and write what arrives to -o FILE (stdout by default),
by way of a hidden temporary file that is renamed into place at the end. An existing FILE is kept
unless --force.

--verify (both sides): the sender frames the transfer (file name and size first, SHA-256 last) and the
receiver answers; the file appears only when size and hash match, otherwise both exit 1 and nothing is
left. With -o DIR the file keeps the sender's name (reduced to a plain file name) inside DIR.

--tls (both sides, or FILE tls://HOST:PORT): the transfer runs inside TLS, through a buffer instead of
sendfile(2). The sender verifies the receiver as connect --tls does (--ca, --pin, --insecure, --sni;
--cert/--key for a client certificate); the receiver serves --cert/--key, or a self-signed certificate
whose pin -v prints (tls pin sha256:...), and --client-ca requires a client certificate. A TLS sender
that closes without close_notify (ncat --ssl does) is received with a warning: only --verify proves the
file complete.

Examples:
  sockcat sendfile --receive -v --verify -o downloads/ 9000    receive into downloads/NAME
  sockcat sendfile --verify backup.tar host 9000                send it, checked end to end
  sockcat sendfile --offset 1048576 --count 4096 disk.img host 9000
  sockcat sendfile --receive 9000 > copy.bin                    plain bytes, like nc -l
  sockcat sendfile --receive -v --tls --verify -o downloads/ 9443   prints its pin
  sockcat sendfile --tls --pin sha256:BASE64 --verify backup.tar host 9443

Exit status: 0 success, 1 runtime failure (refused, reset, hash mismatch), 2 usage error or invalid
input (missing FILE, bad port), 3 a timeout expired.";

/// `sendfile --verify=DIGEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyDigest {
    /// BLAKE3 (the default; b3sum prints the same)
    Blake3,
    /// SHA-256 (sha256sum prints the same)
    Sha256,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = SENDFILE_EXAMPLES,
    override_usage = "sockcat sendfile [OPTIONS] FILE HOST PORT\n       \
                      sockcat sendfile [OPTIONS] FILE HOST:PORT\n       \
                      sockcat sendfile --receive [OPTIONS] [ADDR] PORT"
)]
pub struct SendfileArgs {
    /// Receive: accept one connection on [ADDR] PORT and write what arrives to -o FILE (default stdout)
    #[arg(long)]
    pub receive: bool,
    /// FILE HOST PORT (or FILE HOST:PORT, tcp://HOST:PORT, unix:PATH) to send; [ADDR] PORT with --receive
    #[arg(value_names = ["FILE", "HOST", "PORT"], required = true, num_args = 1..=3, action = clap::ArgAction::Set)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Start at byte N of FILE
    #[arg(long, value_name = "N", conflicts_with = "receive")]
    pub offset: Option<u64>,
    /// Send only N bytes
    #[arg(long, value_name = "N", conflicts_with = "receive")]
    pub count: Option<u64>,
    /// Frame the transfer (name, size, digest) and have the receiver check it; both sides need it
    ///
    /// The sender picks the digest: BLAKE3 by default, `--verify=sha256` for SHA-256 (what sha256sum
    /// computes). A receiver with plain --verify accepts either; `--verify=DIGEST` on the receiver
    /// accepts only that one. With -v both sides print the digest as `HEX  NAME`, the line b3sum or
    /// sha256sum prints for the same bytes.
    #[arg(
        long,
        value_name = "DIGEST",
        num_args = 0..=1,
        require_equals = true,
        value_enum
    )]
    pub verify: Option<Option<VerifyDigest>>,
    /// With --receive: write to FILE (or into DIR, keeping the sender's name; needs --verify)
    #[arg(short = 'o', long, value_name = "FILE|DIR", requires = "receive")]
    pub output: Option<PathBuf>,
    /// With --receive: replace an existing output file
    #[arg(long, requires = "receive")]
    pub force: bool,
    /// Connect timeout, or with --receive the longest wait for the sender (status 3)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Give up (status 3) once no byte has moved for DUR, on either side
    ///
    /// Any byte moved resets the timer, including bytes the receiver's TCP acknowledges while one
    /// sendfile call is still under way. A --verify sender also waits for the receiver's answer at
    /// most DUR (without -i: 60s) after the last byte moved.
    #[arg(short = 'i', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub idle_timeout: Option<Duration>,
    /// Sender: keep retrying the connection until it succeeds or DUR has passed (status 3)
    ///
    /// Refused, unreachable and timed-out attempts are retried, as with `connect --wait-for`.
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg, conflicts_with = "receive")]
    pub wait_for: Option<Duration>,
    /// No progress bar (it is shown only when stderr is a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub proxy: ProxyOpts,
    #[command(flatten)]
    pub tls: TlsClientOpts,
    /// With --receive --tls: require a client certificate that chains to FILE (PEM)
    ///
    /// The sender gives it with --cert and --key; one without fails its handshake (status 1).
    #[arg(
        long,
        value_name = "FILE",
        requires = "receive",
        hide_short_help = true
    )]
    pub client_ca: Option<PathBuf>,
    #[command(flatten)]
    pub sockopts: SessionSockopts,
    /// Multipath TCP (IPPROTO_MPTCP)
    ///
    /// Where the kernel refuses it (net.mptcp.enabled=0), plain TCP, said with -v.
    #[arg(long, hide_short_help = true)]
    pub mptcp: bool,
    /// Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}
