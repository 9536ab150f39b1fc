//! The shared test harness (`tests/common`), as the generated-file tests use it: a prepared command run
//! to completion under a time limit, and the programs the tests need.

use std::process::Command;
use std::time::Duration;

pub use crate::common::{Done, have};
use crate::common::{In, Proc};

/// The longest a shell or linter may take.
const LIMIT: Duration = Duration::from_secs(30);

/// Runs `cmd` with stdin empty, at most `LIMIT`; a hung program fails the test with what it printed.
pub fn run(cmd: Command) -> Done {
    let shown = format!("{cmd:?}");
    Proc::spawn_cmd(cmd, &shown, &[], In::Null).finish_within(LIMIT)
}

/// Runs the sockcat binary under test.
pub fn run_sockcat(args: &[&str]) -> Done {
    let mut cmd = Command::new(crate::common::bin());
    cmd.args(args);
    run(cmd)
}
