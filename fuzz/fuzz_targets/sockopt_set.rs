//! `--set NAME=VALUE` parsing (no socket is touched): an accepted setting names a settable option
//! (case-insensitively) and its value, shown as `sockopt` shows values, parses back to the same value;
//! anything rejected is a usage error (status 2).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sockcat::exit::{USAGE, status_of};
use sockcat::fuzz::{lookup, parse_assignment, parse_value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_assignment(text) {
        Ok((opt, value)) => {
            assert!(opt.settable, "{text:?}");
            let (name, raw) = text.split_once('=').unwrap();
            assert!(opt.name.eq_ignore_ascii_case(name.trim()), "{text:?}");
            assert_eq!(lookup(&name.to_ascii_lowercase()).unwrap().name, opt.name);
            let shown = value.display(opt.kind);
            assert_eq!(
                parse_value(opt, &shown).unwrap(),
                value,
                "{text:?}: {raw:?} shown as {shown:?}"
            );
            let again = parse_assignment(&format!("{}={shown}", opt.name)).unwrap();
            assert_eq!(again.1, value);
        }
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
});
