//! What a mode's code learns about a server's client on the client's thread, for its events lines.

use serde_json::Value as Json;

use super::RefuseReason;

/// What a server thread learns about its client while a mode's code serves it, for the events
/// file: the mode's code (the TLS handshake, the proxy server's admission and authentication) notes
/// it here without knowing about events, and the thread that started the client writes it into the
/// client's `close` (or `refuse`) line. Kept per thread, and only while a thread has [`Note::start`]ed
/// one: elsewhere (a client-side handshake) noting costs nothing and goes nowhere.
#[derive(Default)]
pub(crate) struct Note {
    /// The client was turned away (the first reason noted counts).
    pub refused: Option<RefuseReason>,
    /// What TLS negotiated (`{"version", "cipher", "alpn"}`, `"client_subject"` with a client
    /// certificate).
    pub tls: Option<Json>,
    /// The application bytes (in, out) so far, for a session whose socket carries other bytes (TLS).
    pub bytes: Option<Box<dyn Fn() -> (u64, u64) + Send>>,
    /// `--accept-proxy-protocol`: the client's address as its PROXY header gives it.
    pub source: Option<String>,
    on_admit: Option<OnAdmit>,
}

/// What hears a client's admission (see [`Note::start_admitting`]).
pub(crate) type OnAdmit = Box<dyn FnMut(&str)>;

thread_local! {
    static NOTE: std::cell::RefCell<Option<Note>> = const { std::cell::RefCell::new(None) };
}

impl Note {
    /// Starts noting on this thread (what an earlier client left is dropped).
    pub(crate) fn start() {
        NOTE.with(|n| *n.borrow_mut() = Some(Note::default()));
    }

    /// [`Note::start`], unless this thread is noting already (what was noted stays).
    pub(crate) fn go_on() {
        NOTE.with(|n| {
            n.borrow_mut().get_or_insert_with(Note::default);
        });
    }

    /// [`Note::start`] for a client whose accept line waits for its admission (under
    /// `--accept-proxy-protocol` the client's address is its PROXY header's source): `on_admit` hears
    /// that address when the client is admitted.
    pub(crate) fn start_admitting(on_admit: OnAdmit) {
        let note = Note {
            on_admit: Some(on_admit),
            ..Note::default()
        };
        NOTE.with(|n| *n.borrow_mut() = Some(note));
    }

    /// The client's address is `peer`, as its PROXY header says.
    pub(crate) fn source(peer: &str) {
        Note::with(|n| n.source = Some(peer.to_string()));
    }

    /// The client is admitted as `peer` (after its PROXY header and the access list).
    pub(crate) fn admitted(peer: &str) {
        let on_admit = NOTE.with(|n| n.borrow_mut().as_mut()?.on_admit.take());
        if let Some(mut f) = on_admit {
            f(peer);
        }
    }

    /// What was noted since [`Note::start`]; noting stops.
    pub(crate) fn take() -> Note {
        NOTE.with(|n| n.borrow_mut().take()).unwrap_or_default()
    }

    fn with(f: impl FnOnce(&mut Note)) {
        NOTE.with(|n| {
            if let Some(note) = n.borrow_mut().as_mut() {
                f(note);
            }
        });
    }

    /// The client is being turned away for `reason`.
    pub(crate) fn refused(reason: RefuseReason) {
        Note::with(|n| {
            n.refused.get_or_insert(reason);
        });
    }

    /// The client's TLS session.
    pub(crate) fn tls(tls: Json, bytes: Box<dyn Fn() -> (u64, u64) + Send>) {
        Note::with(|n| {
            n.tls = Some(tls);
            n.bytes = Some(bytes);
        });
    }
}
