//! Endpoints, ports, port lists and durations: every accepted input means what it says (it reads back
//! the same when printed and parsed again), and every rejected one is a usage error (status 2).

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sockcat::exit::{USAGE, status_of};
use sockcat::fuzz::{parse_endpoint, split_host_port};
use sockcat::fuzz::{parse_duration, parse_port, parse_port_list};

/// The largest duration sockcat accepts, in seconds (the plain-number form's limit).
const MAX_SECS: u64 = 1_000_000_000;

fn port(text: &str) {
    match parse_port(text) {
        Ok(p) => {
            let t = text.trim();
            if t.bytes().all(|b| b.is_ascii_digit()) {
                assert_eq!(t.parse::<u64>().ok(), Some(u64::from(p)), "{text:?}");
            }
            assert_eq!(parse_port(&p.to_string()).unwrap(), p);
        }
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
}

fn port_list(text: &str) {
    match parse_port_list(text) {
        Ok(list) => {
            assert!(!list.is_empty(), "{text:?}");
            let mut seen = vec![false; 65536];
            for &p in &list {
                assert!(!std::mem::replace(&mut seen[p as usize], true), "{text:?}: {p} twice");
            }
            if list.len() <= 2048 {
                let again: Vec<String> = list.iter().map(u16::to_string).collect();
                assert_eq!(parse_port_list(&again.join(",")).unwrap(), list);
            }
        }
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
}

fn duration(text: &str) {
    match parse_duration(text) {
        Ok(d) => {
            // Whatever spelling was used, the value is one the plain-number form accepts too, and a
            // deadline computed from it cannot overflow.
            assert!(d <= Duration::from_secs(MAX_SECS), "{text:?} gave {d:?}");
            let secs = Duration::from_secs(d.as_secs());
            assert_eq!(parse_duration(&d.as_secs().to_string()).unwrap(), secs, "{text:?}");
            assert_eq!(parse_duration(&format!("{}s", d.as_secs())).unwrap(), secs, "{text:?}");
            let ms = d.as_millis();
            assert_eq!(
                parse_duration(&format!("{ms}ms")).unwrap(),
                Duration::from_millis(ms as u64),
                "{text:?}"
            );
            let _ = std::time::Instant::now() + d;
        }
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
}

fn endpoint(text: &str) {
    match split_host_port(text) {
        Ok((host, _port)) => assert!(!host.is_empty(), "{text:?}"),
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
    match parse_endpoint(&[text.to_string()]) {
        // The one-argument form prints as itself: HOST:PORT or [IPV6]:PORT.
        Ok(hp) => assert_eq!(parse_endpoint(&[hp.to_string()]).unwrap(), hp, "{text:?}"),
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
    // The two-argument form, split at the first space.
    if let Some((host, port)) = text.split_once(' ') {
        match parse_endpoint(&[host.to_string(), port.to_string()]) {
            Ok(hp) => {
                let shown = hp.to_string();
                if let Ok(again) = parse_endpoint(&[shown.clone()]) {
                    assert_eq!(again, hp, "{text:?} shown as {shown:?}");
                }
            }
            Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Command-line arguments reach the parsers as UTF-8 strings (clap rejects anything else).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    port(text);
    port_list(text);
    duration(text);
    endpoint(text);
});
