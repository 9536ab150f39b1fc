//! Every man page renders without a warning, in groff (what `man -l` uses) and in mandoc's linter, and
//! has the sections the pages promise.

use std::process::Command;

use super::util;
use super::write_generated;

/// mandoc asks for a date in `.TH`; the pages have none on purpose (regeneration is byte-identical).
const MANDOC_ALLOWED: &str = "WARNING: missing date";

#[test]
fn groff_renders_every_page_without_warnings() {
    if !util::have("groff") {
        return;
    }
    let dir = write_generated("man");
    for page in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let mut cmd = Command::new("groff");
        cmd.args(["-ww", "-man", "-Tutf8", "-z"]).arg(page.path());
        let done = util::run(cmd);
        assert!(
            done.success() && done.stderr.is_empty(),
            "groff warns about {:?}\n{}",
            page.file_name(),
            done.show()
        );
    }
}

#[test]
fn mandoc_lints_every_page_clean() {
    if !util::have("mandoc") {
        return;
    }
    let dir = write_generated("man");
    for page in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let mut cmd = Command::new("mandoc");
        cmd.args(["-Tlint", "-W", "warning"]).arg(page.path());
        let done = util::run(cmd);
        let output = format!("{}{}", done.stdout_str(), done.stderr);
        let complaints: Vec<&str> = output
            .lines()
            .filter(|l| !l.contains(MANDOC_ALLOWED))
            .collect();
        assert!(
            complaints.is_empty(),
            "mandoc -Tlint complains about {:?}:\n{}",
            page.file_name(),
            complaints.join("\n")
        );
    }
}

#[test]
fn every_page_has_exit_status_and_examples() {
    let dir = write_generated("man");
    for page in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let text = std::fs::read_to_string(page.path()).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH \"EXIT STATUS\"",
            ".SH EXAMPLES",
        ] {
            assert!(
                text.contains(section),
                "{:?} lacks {section}",
                page.file_name()
            );
        }
        for status in ["0", "1", "2", "3", "130"] {
            assert!(
                text.contains(&format!("\\fB{status}\\fR")),
                "{:?}: EXIT STATUS lacks {status}",
                page.file_name()
            );
        }
    }
}
