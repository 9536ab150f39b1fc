//! What a certificate says, for people (`--show-cert`, `-z --json`) and for pins: subject, SANs,
//! issuer, validity, and the SHA-256 of its SubjectPublicKeyInfo (the pin of `--pin`, as
//! `curl --pinnedpubkey` and HPKP write it).

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// A SHA-256 pin of a SubjectPublicKeyInfo.
pub(crate) type Pin = [u8; 32];

/// Parses `sha256:BASE64` (also curl's `sha256//BASE64`).
pub(crate) fn parse_pin(text: &str) -> Result<Pin, String> {
    let b64 = text
        .strip_prefix("sha256:")
        .or_else(|| text.strip_prefix("sha256//"))
        .ok_or_else(|| format!("invalid pin '{text}': expected sha256:BASE64"))?;
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| format!("invalid pin '{text}': not base64"))?;
    bytes
        .try_into()
        .map_err(|_| format!("invalid pin '{text}': a SHA-256 is 32 bytes"))
}

/// The text form of a pin: `sha256:BASE64`.
pub(crate) fn show_pin(pin: &Pin) -> String {
    format!("sha256:{}", STANDARD.encode(pin))
}

/// The pin of a DER certificate (None if it does not parse).
pub(crate) fn pin_of(cert_der: &[u8]) -> Option<Pin> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    Some(Sha256::digest(cert.tbs_certificate.subject_pki.raw).into())
}

/// One certificate, as `--show-cert` prints it.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub pin: String,
}

fn time_of(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// Reads a DER certificate (None if it does not parse).
pub(crate) fn info(cert_der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) => sans.push(s.to_string()),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let pin: Pin = Sha256::digest(cert.tbs_certificate.subject_pki.raw).into();
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: time_of(cert.validity().not_before.timestamp()),
        not_after: time_of(cert.validity().not_after.timestamp()),
        pin: show_pin(&pin),
    })
}

/// RFC 3339 in UTC, to the second.
pub(crate) fn show_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Whole days from now until `t` (negative once it has passed).
pub(crate) fn days_left(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => (d.as_secs() / 86_400) as i64,
        Err(e) => -(e.duration().as_secs().div_ceil(86_400) as i64),
    }
}

impl CertInfo {
    /// The `--show-cert` lines of one certificate (the first is `N subject: ...`).
    pub(crate) fn lines(&self, index: usize) -> Vec<String> {
        vec![
            format!("cert {index} subject: {}", self.subject),
            format!(
                "cert {index} names: {}",
                if self.sans.is_empty() {
                    "(none)".to_string()
                } else {
                    self.sans.join(", ")
                }
            ),
            format!("cert {index} issuer: {}", self.issuer),
            format!(
                "cert {index} valid: {} to {}",
                show_time(self.not_before),
                show_time(self.not_after)
            ),
            format!("cert {index} pin: {}", self.pin),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_in_both_spellings() {
        let pin = [7u8; 32];
        let text = show_pin(&pin);
        assert_eq!(parse_pin(&text), Ok(pin));
        let curl = text.replace("sha256:", "sha256//");
        assert_eq!(parse_pin(&curl), Ok(pin));
        assert!(parse_pin("sha1:AAAA").is_err());
        assert!(parse_pin("sha256:AAAA").is_err());
        assert!(parse_pin("sha256:!!").is_err());
    }
}
