use super::*;
use crate::exit::{USAGE, status_of};

#[test]
fn targets() {
    let t = parse_target("127.0.0.1:53").unwrap();
    assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 53));
    let t = parse_target("[::1]:7").unwrap();
    assert_eq!((t.host.as_str(), t.port), ("::1", 7));
    let t = parse_target("localhost:domain").unwrap();
    assert_eq!(t.port, 53);
    for bad in [
        "127.0.0.1",
        "127.0.0.1:0",
        "h:70000",
        "unix:/x",
        "tcp://h:1",
        "",
    ] {
        assert_eq!(status_of(&parse_target(bad).unwrap_err()), USAGE, "{bad}");
    }
}
