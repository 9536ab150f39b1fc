//! `-h` is a summary that fits a screen; `--help` adds the details and the examples.

use super::subcommand_names;
use super::util::{self, Done};

/// The most lines `-h` may take at 80 columns (one screen of a terminal window).
const SCREEN: usize = 45;

fn help(args: &[&str]) -> Done {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sockcat"));
    cmd.args(args).env("COLUMNS", "80");
    let done = util::run(cmd);
    assert!(done.success(), "{}", done.show());
    done
}

#[test]
fn short_help_fits_a_screen() {
    for name in subcommand_names().iter().filter(|n| *n != "help") {
        let short = help(&[name, "-h"]).stdout_str();
        let lines = short.lines().count();
        assert!(
            lines <= SCREEN,
            "`sockcat {name} -h` is {lines} lines at 80 columns, more than {SCREEN}: keep the first \
             paragraph of each option's doc comment short and put details in a second paragraph\n{short}"
        );
        assert!(
            !short.contains("Examples:"),
            "`sockcat {name} -h` shows examples"
        );
    }
}

#[test]
fn long_help_has_examples_and_exit_status() {
    for name in subcommand_names().iter().filter(|n| *n != "help") {
        let long = help(&[name, "--help"]).stdout_str();
        assert!(
            long.contains("\nExamples:\n  "),
            "`sockcat {name} --help` has no examples\n{long}"
        );
        assert!(
            long.contains("Exit status: 0 success"),
            "`sockcat {name} --help` lacks the exit statuses"
        );
    }
}
