//! TCP_INFO of a TCP socket, field by field, as `sockopt --tcp-info` shows it.

use std::os::fd::BorrowedFd;

use anyhow::{Context, Result};

use crate::sys::sockopt as raw;

/// TCP connection states, as named by the kernel.
fn tcp_state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// TCP_INFO of a TCP socket as (field, value) pairs, in the kernel's struct order. Times are in
/// microseconds (rto, ato, rtt, rttvar, rcv_rtt) or milliseconds (last_*), as the kernel reports them.
pub(crate) fn tcp_info(fd: BorrowedFd<'_>) -> Result<Vec<(&'static str, u32)>> {
    let i = raw::tcp_info(fd).context("getsockopt TCP_INFO")?;
    Ok(vec![
        ("state", u32::from(i.tcpi_state)),
        ("ca_state", u32::from(i.tcpi_ca_state)),
        ("retransmits", u32::from(i.tcpi_retransmits)),
        ("probes", u32::from(i.tcpi_probes)),
        ("backoff", u32::from(i.tcpi_backoff)),
        ("options", u32::from(i.tcpi_options)),
        ("snd_wscale", u32::from(i.tcpi_snd_rcv_wscale & 0x0f)),
        ("rcv_wscale", u32::from(i.tcpi_snd_rcv_wscale >> 4)),
        ("rto", i.tcpi_rto),
        ("ato", i.tcpi_ato),
        ("snd_mss", i.tcpi_snd_mss),
        ("rcv_mss", i.tcpi_rcv_mss),
        ("unacked", i.tcpi_unacked),
        ("sacked", i.tcpi_sacked),
        ("lost", i.tcpi_lost),
        ("retrans", i.tcpi_retrans),
        ("fackets", i.tcpi_fackets),
        ("last_data_sent", i.tcpi_last_data_sent),
        ("last_ack_sent", i.tcpi_last_ack_sent),
        ("last_data_recv", i.tcpi_last_data_recv),
        ("last_ack_recv", i.tcpi_last_ack_recv),
        ("pmtu", i.tcpi_pmtu),
        ("rcv_ssthresh", i.tcpi_rcv_ssthresh),
        ("rtt", i.tcpi_rtt),
        ("rttvar", i.tcpi_rttvar),
        ("snd_ssthresh", i.tcpi_snd_ssthresh),
        ("snd_cwnd", i.tcpi_snd_cwnd),
        ("advmss", i.tcpi_advmss),
        ("reordering", i.tcpi_reordering),
        ("rcv_rtt", i.tcpi_rcv_rtt),
        ("rcv_space", i.tcpi_rcv_space),
        ("total_retrans", i.tcpi_total_retrans),
    ])
}

/// How a TCP_INFO field is shown in the table (the state by name, the rest as numbers).
pub(crate) fn tcp_info_display(field: &str, value: u32) -> String {
    if field == "state" {
        tcp_state_name(u8::try_from(value).unwrap_or(0)).to_string()
    } else {
        value.to_string()
    }
}
