//! Property tests for every parser: round-trips where they exist, and no input ever panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use sockcat::exit::{USAGE, status_of};
use sockcat::fuzz::Crlf;
use sockcat::fuzz::parse_cidr;
use sockcat::fuzz::{HostPort, parse_endpoint, split_host_port};
use sockcat::fuzz::{parse_duration, parse_port, parse_port_list};

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
        any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn numeric_ports_are_exact_or_status_2(n in any::<u64>()) {
        match parse_port(&n.to_string()) {
            Ok(p) => prop_assert_eq!(u64::from(p), n),
            Err(e) => {
                prop_assert!(n > 65535);
                prop_assert_eq!(status_of(&e), USAGE);
            }
        }
    }

    #[test]
    fn port_lists_round_trip(ranges in prop::collection::vec((any::<u16>(), 0u16..50), 1..8)) {
        let mut text = Vec::new();
        let mut expected: Vec<u16> = Vec::new();
        for (lo, span) in &ranges {
            let hi = lo.saturating_add(*span);
            text.push(if lo == &hi { lo.to_string() } else { format!("{lo}-{hi}") });
            for p in *lo..=hi {
                if !expected.contains(&p) {
                    expected.push(p);
                }
            }
        }
        prop_assert_eq!(parse_port_list(&text.join(",")).unwrap(), expected);
    }

    #[test]
    fn reversed_ranges_are_status_2(lo in 1u16.., gap in 1u16..100) {
        let hi = lo.saturating_sub(gap);
        prop_assume!(hi < lo);
        let err = parse_port_list(&format!("{lo}-{hi}")).unwrap_err();
        prop_assert_eq!(status_of(&err), USAGE);
    }

    #[test]
    fn endpoints_round_trip(ip in ip(), port in 1u16..) {
        let hp = HostPort { host: ip.to_string(), port };
        prop_assert_eq!(parse_endpoint(&[hp.to_string()]).unwrap(), hp.clone());
        prop_assert_eq!(parse_endpoint(&[hp.host.clone(), port.to_string()]).unwrap(), hp);
        // Port 0 is never a destination: a usage error, in both forms.
        let zero = HostPort { host: ip.to_string(), port: 0 };
        prop_assert_eq!(status_of(&parse_endpoint(&[zero.to_string()]).unwrap_err()), USAGE);
        prop_assert_eq!(status_of(&parse_endpoint(&[zero.host, "0".into()]).unwrap_err()), USAGE);
    }

    #[test]
    fn durations_round_trip(ms in 0u64..10_000_000, secs in 0u32..1_000_000) {
        prop_assert_eq!(parse_duration(&format!("{ms}ms")).unwrap(), Duration::from_millis(ms));
        prop_assert_eq!(parse_duration(&secs.to_string()).unwrap(), Duration::from_secs(u64::from(secs)));
        prop_assert_eq!(parse_duration(&format!("{secs}s")).unwrap(), Duration::from_secs(u64::from(secs)));
    }

    #[test]
    fn cidrs_round_trip(ip in ip(), prefix in 0u8..=128) {
        let max: u32 = if ip.is_ipv4() { 32 } else { 128 };
        let text = format!("{ip}/{}", u32::from(prefix) % (max + 1));
        prop_assert_eq!(parse_cidr(&text).unwrap().to_string(), text);
        let too_long = format!("{ip}/{}", max + 1 + u32::from(prefix));
        prop_assert_eq!(status_of(&parse_cidr(&too_long).unwrap_err()), USAGE);
    }

    #[test]
    fn crlf_is_chunking_invariant_and_leaves_no_bare_lf(
        data in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400),
        cuts in prop::collection::vec(0usize..400, 0..6),
    ) {
        let mut whole = Crlf::default();
        let expected = whole.apply(&data).to_vec();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort_unstable();
        let mut chunked = Crlf::default();
        let mut got = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain(std::iter::once(data.len())) {
            got.extend_from_slice(chunked.apply(&data[start..cut]));
            start = cut;
        }
        prop_assert_eq!(&got, &expected);
        for (i, b) in got.iter().enumerate() {
            if *b == b'\n' {
                prop_assert!(i > 0 && got[i - 1] == b'\r');
            }
        }
        // Removing the inserted CRs gives the input back.
        let stripped: usize = got.len() - data.len();
        let bare_lf = data.iter().enumerate().filter(|(i, b)| **b == b'\n' && (*i == 0 || data[i - 1] != b'\r')).count();
        prop_assert_eq!(stripped, bare_lf);
    }

    #[test]
    fn no_text_makes_a_parser_panic(text in "\\PC{0,40}") {
        let _ = parse_port(&text);
        let _ = parse_port_list(&text);
        let _ = parse_duration(&text);
        let _ = split_host_port(&text);
        let _ = parse_cidr(&text);
        let _ = parse_endpoint(std::slice::from_ref(&text));
    }
}
