//! The generated files (`completions/`, `man/`) are what the code generates, and they work.
//!
//! When the command line changes, regenerate them with
//!
//! ```sh
//! SOCKCAT_UPDATE_GENERATED=1 cargo test --test generated
//! ```
//!
//! which rewrites every file that differs and deletes files no command generates any more (a removed
//! subcommand's man page). The other modules load the scripts into real shells, lint the man pages and
//! check the help text.

#[path = "common/mod.rs"]
mod common;
#[path = "generated/help.rs"]
mod help;
#[path = "generated/man.rs"]
mod man;
#[path = "generated/shells.rs"]
mod shells;
#[path = "generated/util.rs"]
mod util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use sockcat::cli::Cli;
use sockcat::generate;

const UPDATE: &str = "SOCKCAT_UPDATE_GENERATED=1 cargo test --test generated";

/// The directories whose every file is generated.
const DIRS: [&str; 2] = ["completions", "man"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file now in the generated directories, as paths relative to the crate root.
fn committed() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for dir in DIRS {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                found.insert(format!("{dir}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn generated_files_are_up_to_date() {
    let update = std::env::var_os("SOCKCAT_UPDATE_GENERATED").is_some_and(|v| v == "1");
    let expected = generate::files();
    let mut problems = Vec::new();
    for (path, bytes) in &expected {
        let full = root().join(path);
        match std::fs::read(&full) {
            Ok(old) if old == *bytes => {}
            old => {
                if update {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, bytes).unwrap_or_else(|e| panic!("write {path}: {e}"));
                    eprintln!("updated {path}");
                } else if old.is_err() {
                    problems.push(format!("{path}: missing"));
                } else {
                    problems.push(format!("{path}: differs from what the code generates"));
                }
            }
        }
    }
    let wanted: BTreeSet<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
    for stale in committed().iter().filter(|p| !wanted.contains(p.as_str())) {
        if update {
            std::fs::remove_file(root().join(stale)).unwrap_or_else(|e| panic!("rm {stale}: {e}"));
            eprintln!("removed {stale}");
        } else {
            problems.push(format!("{stale}: stale, no command generates it any more"));
        }
    }
    assert!(
        problems.is_empty(),
        "the generated files are out of date:\n  {}\nregenerate them with:\n  {UPDATE}\nand commit the result",
        problems.join("\n  ")
    );
}

#[test]
fn regeneration_is_byte_identical() {
    assert_eq!(generate::files(), generate::files());
}

#[test]
fn cli_debug_assert() {
    Cli::command().debug_assert();
}

#[test]
fn every_man_page_has_examples() {
    let missing = generate::pages_without_examples();
    assert!(
        missing.is_empty(),
        "no `Examples:` paragraph in the after_long_help of: {}\n(the man page's EXAMPLES section and \
         `--help` both come from it; see src/cli/)",
        missing.join(", ")
    );
}

/// `sockcat generate` writes the same bytes as the library.
#[test]
fn generate_subcommand_writes_the_same_files() {
    for (shell, name) in generate::SHELLS {
        let done = util::run_sockcat(&["generate", "completions", &shell.to_string()]);
        assert!(done.success(), "{}", done.show());
        assert!(
            done.stdout == generate::completion(shell),
            "`sockcat generate completions {shell}` differs from completions/{name}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    let done = util::run_sockcat(&["generate", "man", out.to_str().unwrap()]);
    assert!(done.success(), "{}", done.show());
    for (name, page) in generate::man_pages() {
        let written = std::fs::read(out.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            written == page,
            "`sockcat generate man` wrote a different {name}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        generate::man_pages().len()
    );
}

/// README tells users to run `sockcat generate`, so `--help` shows it among the examples (issue 15
/// item 15); it stays out of the subcommand list, the completions and the man pages (it is for
/// packagers).
#[test]
fn generate_is_shown_in_the_examples_only() {
    let done = util::run_sockcat(&["--help"]);
    assert!(done.success(), "{}", done.show());
    let help = String::from_utf8_lossy(&done.stdout).into_owned();
    assert!(help.contains("sockcat generate completions bash"), "{help}");
    assert!(help.contains("sockcat generate man DIR"), "{help}");
    let commands = help.split("Options:").next().unwrap_or_default();
    assert!(!commands.contains("generate"), "{help}");
}

/// Writes the generated files of `dir` ("completions" or "man") into a fresh temporary directory.
fn write_generated(dir: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (path, bytes) in generate::files() {
        if let Some(name) = path.strip_prefix(&format!("{dir}/")) {
            std::fs::write(tmp.path().join(name), bytes).unwrap();
        }
    }
    tmp
}

/// The names completion must offer: every visible subcommand, and `help`.
fn subcommand_names() -> Vec<String> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The names of the hidden subcommands, which completion must not offer.
fn hidden_subcommand_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}
