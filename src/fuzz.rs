//! The narrow surface that the fuzz targets, the property tests and the benches reach into: the pure
//! parsers and codecs, re-exported from where they live. Not an API; everything else in the crate is
//! `pub(crate)`, so the compiler finds dead code.

pub use crate::net::addr::{HostPort, parse_endpoint, split_host_port};
pub use crate::net::byteorder::{
    inet_aton, inet_ntoa, inet_ntop, inet_pton, parse_hex, parse_number,
};
pub use crate::net::parse::{
    MAX_DURATION_SECS, parse_cidr, parse_duration, parse_port, parse_port_list,
};
pub use crate::net::proxy_protocol::{
    Decoded, Header as ProxyHeader, Version as ProxyVersion, decode as decode_proxy_header,
    encode as encode_proxy_header, read_header as read_proxy_header,
};
pub use crate::net::server::acl::Acl;
pub use crate::net::server::proxy_server::{
    MAX_HANDSHAKE, Protocol as ProxyRequestProtocol, Users, Wire,
    handshake as proxy_server_handshake, parse_dest_rule,
};
pub use crate::net::socket::Peek;
pub use crate::net::sockopt::{Value, lookup, parse_assignment, parse_value};
pub use crate::net::stream::hexdump::{Direction, format_lines};
pub use crate::net::stream::proxy::{
    Credentials, Dest, base64_decode, base64_encode, http_connect_handshake, parse_proxy_url,
    socks4_handshake, socks5_handshake,
};
pub use crate::net::stream::pump::Crlf;
pub use crate::net::transfer::verify::{
    Digest, Header, NAME_MAX, read_digest, read_reply, safe_name,
};
pub use crate::sys::poll::{READABLE, WRITABLE, poll};

/// A `sendfile --verify` receiver on `sock` (through a buffer, as `-o /dev/null` or stdout takes it),
/// accepting the digest `accept` (None: any it knows): the header, exactly its size in bytes into
/// memory, the trailer and the comparison. On failure the sender is sent `ERR <reason>` first; on
/// success nothing (the command answers once the file is in place).
pub fn receive_verified(
    sock: std::os::unix::net::UnixStream,
    accept: Option<Digest>,
) -> anyhow::Result<(Header, Vec<u8>, [u8; 32])> {
    let mut wire = crate::net::transfer::wire::Wire::Plain(socket2::Socket::from(
        std::os::fd::OwnedFd::from(sock),
    ));
    crate::net::transfer::receive_verified(&mut wire, |_| Ok(Vec::new()), "memory", accept, &|_| {})
}
pub use crate::sys::process::raise_nofile_limit;
