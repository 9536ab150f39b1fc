//! Whole-program behaviour: version, help, usage errors, exit statuses.

use crate::common::{closed_port, run};

#[test]
fn version_and_help() {
    let done = run(&["--version"], b"").ok();
    assert!(done.stdout_str().starts_with("sockcat "), "{}", done.show());
    let done = run(&["help", "connect"], b"").ok();
    assert!(done.stdout_str().contains("Examples:"), "{}", done.show());
}

/// Subcommands' arguments are built late (only for the subcommand run): each one's help must still
/// open with the same line the top-level list gives it, list its own options and end with its examples.
#[test]
fn each_subcommand_help_is_its_own() {
    let top = run(&["--help"], b"").ok().stdout_str();
    let subcommands = [
        ("listen", "--keep-open"),
        ("connect", "--wait-for"),
        ("resolve", "--reverse"),
        ("sockopt", "--set"),
        ("byteorder", "Usage: sockcat byteorder"),
        ("udp-send", "--wait-reply"),
        ("udp-recv", "--format"),
        ("sendfile", "--verify"),
    ];
    for (name, option) in subcommands {
        let help = run(&[name, "--help"], b"").ok().stdout_str();
        let about = help.lines().next().unwrap_or_default().to_string();
        let listed = top
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is not in the top-level help:\n{top}"));
        let first_words: String = about
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            listed.contains(&first_words),
            "{name} --help opens with {about:?}, the list says {listed:?}"
        );
        assert!(
            help.contains(option),
            "{name} --help lacks {option}:\n{help}"
        );
        assert!(
            help.contains("Examples:"),
            "{name} --help lacks its examples"
        );
        let short = run(&[name, "-h"], b"").ok().stdout_str();
        assert_eq!(short.lines().next(), Some(about.as_str()), "{name} -h");
        // clap renders a two-part positional named "ADDR] [PORT" as "<ADDR] [PORT>" when it is required.
        assert!(
            !help.contains("<ADDR]") && !help.contains("<HOST]"),
            "{name} --help has a broken usage:\n{help}"
        );
    }
}

#[test]
fn usage_errors_are_one_line_and_status_2() {
    run(&["bogus"], b"").code(2).one_error_line("bogus");
    run(&["connect", "127.0.0.1", "99999"], b"")
        .code(2)
        .one_error_line("99999");
    run(&["connect", "--timeout", "soon", "127.0.0.1", "1"], b"")
        .code(2)
        .one_error_line("soon");
}

#[test]
fn refused_is_status_1() {
    let port = closed_port().to_string();
    run(&["connect", "127.0.0.1", &port], b"")
        .code(1)
        .one_error_line("connection refused");
}

#[test]
fn missing_arguments_are_named_on_the_one_line() {
    run(&["connect"], b"").code(2).one_error_line("<TARGET>");
    run(&["listen"], b"").code(2).one_error_line("PORT");
}
