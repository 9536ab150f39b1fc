//! Whole-program behaviour: version, help, usage errors, exit statuses.

use crate::common::{closed_port, run};

#[test]
fn version_and_help() {
    let done = run(&["--version"], b"").ok();
    assert!(done.stdout_str().starts_with("sockcat "), "{}", done.show());
    let done = run(&["help", "connect"], b"").ok();
    assert!(done.stdout_str().contains("Examples:"), "{}", done.show());
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
