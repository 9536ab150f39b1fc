//! The client's check of the server: webpki against the roots and the name (the default), SPKI pins
//! (`--pin`, CA-signed or not), or nothing (`--insecure`). The verifier remembers the leaf it was shown,
//! so that a failure can say what the certificate is for, and `--insecure` can print its pin.
//! Also the one place that turns a rustls error into the reason a user reads.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, DigitallySignedStruct, Error, SignatureScheme};

use super::cert::{self, Pin};

/// How the server is checked.
#[derive(Debug)]
pub(crate) struct ServerVerifier {
    /// None with `--insecure`.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    pins: Vec<Pin>,
    insecure: bool,
    provider: Arc<CryptoProvider>,
    /// The leaf the server showed.
    pub(crate) seen: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerVerifier {
    pub(crate) fn new(
        webpki: Option<Arc<WebPkiServerVerifier>>,
        pins: Vec<Pin>,
        insecure: bool,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        ServerVerifier {
            webpki,
            pins,
            insecure,
            provider,
            seen: Mutex::new(None),
        }
    }

    pub(crate) fn leaf(&self) -> Option<CertificateDer<'static>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(end_entity.clone().into_owned());
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if !self.pins.is_empty() {
            // As curl's --pinnedpubkey: the pin decides, whoever signed the certificate.
            return match cert::pin_of(end_entity) {
                Some(pin) if self.pins.contains(&pin) => Ok(ServerCertVerified::assertion()),
                Some(_) => Err(CertificateError::ApplicationVerificationFailure.into()),
                None => Err(CertificateError::BadEncoding.into()),
            };
        }
        match &self.webpki {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(CertificateError::UnknownIssuer.into()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls error in a user's words. `leaf` is the server's certificate when it was seen, `expected`
/// the name it was checked against.
pub(crate) fn reason(err: &Error, leaf: Option<&CertificateDer<'_>>, expected: &str) -> String {
    use CertificateError as C;
    let info = leaf.and_then(|c| cert::info(c));
    match err {
        Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => match &info {
                Some(i) => format!("certificate expired on {}", cert::show_time(i.not_after)),
                None => "certificate expired".into(),
            },
            C::NotValidYet | C::NotValidYetContext { .. } => match &info {
                Some(i) => format!(
                    "certificate not valid before {}",
                    cert::show_time(i.not_before)
                ),
                None => "certificate not valid yet".into(),
            },
            C::UnknownIssuer => "unknown issuer (not signed by a trusted CA)".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => match &info {
                Some(i) if !i.sans.is_empty() => {
                    format!("certificate is for {}, not {expected}", i.sans.join(", "))
                }
                _ => format!("certificate is not for {expected}"),
            },
            C::ApplicationVerificationFailure => match &info {
                Some(i) => format!("certificate pin {} matches no --pin", i.pin),
                None => "certificate pin matches no --pin".into(),
            },
            C::BadSignature => "bad certificate signature".into(),
            C::BadEncoding => "malformed certificate".into(),
            C::Revoked => "certificate revoked".into(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "certificate not valid for this purpose".into()
            }
            other => format!("invalid certificate: {}", words(&format!("{other:?}"))),
        },
        Error::NoCertificatesPresented => "the client sent no certificate".into(),
        Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => {
                "the server requires a client certificate".into()
            }
            AlertDescription::UnknownCA => "the peer does not trust our certificate".into(),
            AlertDescription::BadCertificate => "the peer rejected our certificate".into(),
            AlertDescription::CertificateExpired => "the peer says our certificate expired".into(),
            AlertDescription::ProtocolVersion => "no TLS version in common".into(),
            AlertDescription::NoApplicationProtocol => "no ALPN protocol in common".into(),
            AlertDescription::HandshakeFailure => {
                "the peer refused the handshake (handshake_failure)".into()
            }
            other => format!("the peer sent alert {}", words(&format!("{other:?}"))),
        },
        Error::PeerIncompatible(p) => format!("peer incompatible: {}", words(&format!("{p:?}"))),
        Error::NoApplicationProtocol => "no ALPN protocol in common".into(),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            format!("not a TLS peer, or a broken one ({err})")
        }
        other => other.to_string(),
    }
}

/// A rustls or webpki error name in words, for the errors without a sentence of their own:
/// `Other(OtherError(CaUsedAsEndEntity))` is `ca used as end entity`, never a Debug dump.
fn words(debug: &str) -> String {
    let inner = debug
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap_or(debug);
    let mut out = String::new();
    for (i, c) in inner.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod words_tests {
    #[test]
    fn error_names_in_words() {
        assert_eq!(
            super::words("Other(OtherError(CaUsedAsEndEntity))"),
            "ca used as end entity"
        );
        assert_eq!(super::words("DecryptError"), "decrypt error");
    }
}
