//! `--allow` / `--deny` CIDRs: an accepted CIDR prints as a CIDR that parses to the same network, its
//! own address is admitted by an allow rule and refused by a deny rule (an IPv4 rule in both the IPv4
//! and the IPv4-mapped IPv6 spelling of a client), and rejected text is a usage error (status 2).

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use sockcat::exit::{USAGE, status_of};
use ipnet::IpNet;
use sockcat::fuzz::parse_cidr;
use sockcat::fuzz::Acl;

/// The ways one client can show up: an IPv4 client of a dual-stack listener arrives IPv4-mapped.
fn spellings(ip: IpAddr) -> Vec<IpAddr> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => vec![IpAddr::V4(v4), IpAddr::V6(v4.to_ipv6_mapped())],
        v6 => vec![v6],
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_cidr(text) {
        Ok(net) => {
            assert_eq!(parse_cidr(&net.to_string()).unwrap(), net, "{text:?}");
            if let Ok(ip) = text.trim().parse::<IpAddr>() {
                assert_eq!(net.addr(), ip.to_canonical(), "{text:?}");
                assert_eq!(net.prefix_len(), net.max_prefix_len());
            }
            // An IPv6 rule shorter than /96 matches IPv6 clients only, even where it spans the
            // IPv4-mapped range (`::/0`); every other rule matches its address however spelled.
            let clients = match net {
                IpNet::V6(v6) if v6.addr().to_ipv4_mapped().is_some() => {
                    let allow = Acl { allow: vec![net], deny: vec![] };
                    assert!(!allow.admits(Some(net.addr())), "{text:?} matches IPv4");
                    vec![]
                }
                IpNet::V6(_) => vec![net.addr()],
                IpNet::V4(_) => spellings(net.addr()),
            };
            for client in clients {
                let allow = Acl { allow: vec![net], deny: vec![] };
                assert!(allow.admits(Some(client)), "--allow {text:?} refuses {client}");
                let deny = Acl { allow: vec![], deny: vec![net] };
                assert!(!deny.admits(Some(client)), "--deny {text:?} admits {client}");
            }
        }
        Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
    }
});
