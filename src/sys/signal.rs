//! Ending an open-ended receive cleanly: SIGINT and SIGTERM set a flag (instead of killing the
//! process) and interrupt the blocking call, so the caller can flush and print its summary, as ping does.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM only set the flag [`stop_requested`] reads; blocking calls they
/// interrupt fail with EINTR (no SA_RESTART).
pub(crate) fn catch_stop_signals() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain C data, valid when zeroed (empty mask, no flags); the handler is
        // an extern "C" fn that only stores to an atomic, which is async-signal-safe.
        let r = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Has SIGINT or SIGTERM arrived since [`catch_stop_signals`]?
pub(crate) fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
