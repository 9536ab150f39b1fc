//! Shell completions and man pages, as bytes, from the one source of truth: `Cli::command()`.
//!
//! The committed files in `completions/` and `man/` are these bytes (`tests/generated.rs` checks it and
//! `SOCKCAT_UPDATE_GENERATED=1` rewrites them); `sockcat generate` writes them for packagers. Nothing here
//! depends on the date, the terminal or the machine, so regeneration is byte-identical.
//!
//! A man page is clap_mangen's NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then the paragraphs of the
//! subcommand's `after_long_help` (the same text `--help` shows): `Examples:` becomes EXAMPLES, other
//! headed paragraphs become subsections of DESCRIPTION, and the one-line exit-status reminder is replaced
//! by the full EXIT STATUS table built from [`crate::exit`].

use std::io;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::Cli;
use crate::exit;

/// The binary name completions are registered for.
const BIN: &str = "sockcat";

/// Every shell we ship a completion script for, and the script's file name in `completions/`.
pub const SHELLS: [(Shell, &str); 5] = [
    (Shell::Bash, "sockcat.bash"),
    (Shell::Zsh, "_sockcat"),
    (Shell::Fish, "sockcat.fish"),
    (Shell::PowerShell, "_sockcat.ps1"),
    (Shell::Elvish, "sockcat.elv"),
];

/// The exit statuses, as the man pages' EXIT STATUS section lists them.
const EXIT_STATUS: [(u8, &str); 4] = [
    (
        exit::OK,
        "success; also when the reader of stdout went away",
    ),
    (
        exit::FAILURE,
        "runtime failure: refused, reset, unreachable, not found, I/O error",
    ),
    (
        exit::USAGE,
        "usage error or invalid input: bad port, bad address, bad duration, bad hex, missing file",
    ),
    (exit::TIMEOUT, "a timeout expired"),
];

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = completion_command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    out
}

/// `Cli::command()` without its hidden subcommands (`generate`), which clap_complete would offer.
///
/// clap cannot remove a subcommand, so this copies the top level: what completion scripts use of it
/// (name, version, about, global arguments) and every visible subcommand as it is.
fn completion_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new(BIN)
        .version(env!("CARGO_PKG_VERSION"))
        .about(full.get_about().cloned().unwrap_or_default())
        .propagate_version(full.is_propagate_version_set())
        .subcommand_required(full.is_subcommand_required_set())
        .args(full.get_arguments().cloned());
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut sub = sub.clone();
        if sub.get_name() == "sockopt" {
            // Completions offer the option names for --get; the parser itself takes any text, so
            // that a wrong name gets sockcat's own message (the closest names).
            sub.build();
            let names: Vec<&'static str> = crate::net::sockopt::names().collect();
            sub = sub.mut_arg("get", |a| {
                a.value_parser(clap::builder::PossibleValuesParser::new(names))
            });
        }
        cmd = cmd.subcommand(sub);
    }
    cmd
}

/// One man page per command and visible subcommand, as (file name, roff), `sockcat.1` first.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect_pages(&cmd, &mut pages);
    pages
}

/// Every generated file, as (path relative to the crate root, bytes): `completions/*` then `man/*`.
pub fn files() -> Vec<(String, Vec<u8>)> {
    let completions = SHELLS
        .iter()
        .map(|&(shell, name)| (format!("completions/{name}"), completion(shell)));
    let man = man_pages()
        .into_iter()
        .map(|(name, page)| (format!("man/{name}"), page));
    completions.chain(man).collect()
}

/// Writes every man page into `dir` (created if missing).
pub fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    for (name, page) in man_pages() {
        let path = dir.join(&name);
        std::fs::write(&path, page).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

fn collect_pages(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    render_page(&man, cmd, &mut page).expect("rendering into a Vec cannot fail");
    pages.push((man.get_filename(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_pages(sub, pages);
    }
}

fn render_page(man: &Man, cmd: &clap::Command, w: &mut dyn io::Write) -> io::Result<()> {
    let extra = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|text| text.to_string())
        .unwrap_or_default();
    let paragraphs = paragraphs(&extra);

    // clap_mangen writes an empty date as nothing, which shifts the source into the date column; the
    // date stays out on purpose (regeneration is byte-identical), so the title line is written here.
    let title = man.get_filename();
    let title = title
        .trim_end_matches(".1")
        .to_uppercase()
        .replace('-', "\\-");
    let version = cmd.get_version().unwrap_or_default();
    writeln!(w, ".TH {title} 1 \"\" \"{BIN} {version}\" \"{BIN} manual\"")?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    let mut roff = Roff::new();
    for p in &paragraphs {
        match p.kind {
            Kind::Note => {
                roff.control("SS", [p.heading.as_str()]);
                preformatted(&mut roff, &p.body);
            }
            Kind::Prose => {
                roff.control("PP", []);
                roff.text([roman(p.body.join(" "))]);
            }
            _ => {}
        }
    }
    // The positional arguments first, then the options (clap_mangen would list them last).
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().filter(|a| !a.is_hide_set()).collect();
    if !positionals.is_empty() {
        roff.control("SH", ["ARGUMENTS"]);
        for arg in positionals {
            let names: Vec<String> = match arg.get_value_names() {
                Some(names) => names.iter().map(|n| n.to_string()).collect(),
                None => vec![arg.get_id().to_string().to_uppercase()],
            };
            roff.control("TP", []);
            roff.text([bold(as_in_usage(cmd, &names))]);
            let help = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            roff.text([roman(help.replace("\n\n", " "))]);
        }
    }
    roff.to_writer(w)?;
    if cmd
        .get_arguments()
        .any(|a| !a.is_hide_set() && !a.is_positional())
    {
        let options_only = cmd
            .clone()
            .mut_args(|a| if a.is_positional() { a.hide(true) } else { a });
        let mut options = Vec::new();
        Man::new(options_only).render_options_section(&mut options)?;
        w.write_all(&tidy_possible_values(&options))?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(w)?;
    }

    let mut roff = Roff::new();
    exit_status(&mut roff);
    for p in paragraphs.iter().filter(|p| p.kind == Kind::Examples) {
        roff.control("SH", ["EXAMPLES"]);
        preformatted(&mut roff, &p.body);
    }
    see_also(&mut roff, cmd);
    roff.to_writer(w)?;
    man.render_version_section(w)
}

/// A positional's value names as the first usage line writes them: `[ADDR] PORT`, `PORT [MESSAGE]...`
/// (clap knows only whether the whole argument is optional, so it would say `[ADDR] [PORT]`); the
/// names joined as they are when the usage line does not have them in a row.
fn as_in_usage(cmd: &clap::Command, names: &[String]) -> String {
    let usage = cmd
        .get_overridden_usage()
        .map(|u| u.to_string())
        .unwrap_or_default();
    let words: Vec<&str> = usage
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let bare = |w: &str| {
        w.trim_end_matches("...")
            .trim_start_matches(['[', '<'])
            .trim_end_matches([']', '>'])
            .to_string()
    };
    (0..words.len())
        .find(|&i| {
            words.len() - i >= names.len()
                && names.iter().zip(&words[i..]).all(|(n, w)| bare(w) == *n)
        })
        .map(|i| words[i..i + names.len()].join(" "))
        .unwrap_or_else(|| names.join(" "))
}

/// clap_mangen puts `.br`, a blank line and `.br` between an option's help and its list of possible
/// values; mandoc and groff warn about the breaks around the blank line (an implicit `.sp`).
fn tidy_possible_values(roff: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(roff)
        .replace("\n.br\n\n.br\n", "\n.sp\n")
        .into_bytes()
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(meaning)]);
    }
    roff.control("TP", []);
    roff.text([bold("130"), roman(", "), bold("143")]);
    roff.text([roman(
        "killed by SIGINT or SIGTERM, as a shell reports it (128 plus the signal number): sockcat cleans up, then dies by that same signal, so a loop around it ends (udp-recv --stats exits 0 instead)",
    )]);
}

/// SEE ALSO: the other pages of the family.
fn see_also(roff: &mut Roff, cmd: &clap::Command) {
    let me = cmd.get_display_name().unwrap_or(cmd.get_name());
    let mut others = vec![BIN.to_string()];
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    others.extend(
        top.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_display_name().unwrap_or(s.get_name()).to_string()),
    );
    let refs: Vec<String> = others
        .into_iter()
        .filter(|name| name != me)
        .map(|name| format!("{name}(1)"))
        .collect();
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(format!("{}, nc(1), socat(1)", refs.join(", ")))]);
}

/// Lines shown as they are in `--help` (examples line their comments up in columns).
fn preformatted(roff: &mut Roff, body: &[String]) {
    roff.control("nf", []);
    for line in body {
        roff.text([roman(line.as_str())]);
    }
    roff.control("fi", []);
}

#[derive(Debug, PartialEq)]
enum Kind {
    /// `Examples:`, the EXAMPLES section.
    Examples,
    /// `Exit status: ...`, replaced by the EXIT STATUS section.
    ExitStatus,
    /// Any other headed paragraph (`End of stream:`), a subsection of DESCRIPTION.
    Note,
    /// A paragraph of sentences (its first line is not a `Heading:`): filled text in DESCRIPTION.
    Prose,
}

#[derive(Debug)]
struct Paragraph {
    kind: Kind,
    heading: String,
    body: Vec<String>,
}

/// Splits `after_long_help` into paragraphs at blank lines; each starts with a `Heading:` line.
fn paragraphs(text: &str) -> Vec<Paragraph> {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let mut lines = p.lines();
            let first = lines.next().unwrap_or_default().trim_end();
            let body = lines.map(|l| l.trim_end().to_string()).collect();
            let (kind, heading) = if first == "Examples:" {
                (Kind::Examples, String::new())
            } else if first.starts_with("Exit status:") {
                (Kind::ExitStatus, String::new())
            } else if !first.ends_with(':') {
                let body = p.lines().map(|l| l.trim().to_string()).collect();
                return Paragraph {
                    kind: Kind::Prose,
                    heading: String::new(),
                    body,
                };
            } else {
                (Kind::Note, first.trim_end_matches(':').to_string())
            };
            Paragraph {
                kind,
                heading,
                body,
            }
        })
        .collect()
}

/// Does every page carry examples? The names of those that do not (the man pages promise EXAMPLES).
pub fn pages_without_examples() -> Vec<String> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut missing = Vec::new();
    let mut check = |c: &clap::Command| {
        let text = c
            .get_after_long_help()
            .map(|t| t.to_string())
            .unwrap_or_default();
        if !paragraphs(&text).iter().any(|p| p.kind == Kind::Examples) {
            missing.push(c.get_display_name().unwrap_or(c.get_name()).to_string());
        }
    };
    check(&cmd);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        check(sub);
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_split_at_headings() {
        let p = paragraphs("Notes:\n  a\n  b\n\nExamples:\n  x  y\n\nExit status: 0 ok.");
        assert_eq!(p.len(), 3);
        assert_eq!((&p[0].kind, p[0].heading.as_str()), (&Kind::Note, "Notes"));
        assert_eq!(p[0].body, ["  a", "  b"]);
        assert_eq!(p[1].kind, Kind::Examples);
        assert_eq!(p[2].kind, Kind::ExitStatus);
    }

    #[test]
    fn pages_are_named_after_their_command() {
        let names: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "sockcat.1");
        assert!(names.contains(&"sockcat-listen.1".to_string()));
        assert!(
            !names
                .iter()
                .any(|n| n.contains("generate") || n.contains("help"))
        );
    }
}
