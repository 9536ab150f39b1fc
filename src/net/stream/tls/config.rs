//! rustls configurations from the core's TLS options: the provider (aws-lc-rs, AES-128-GCM first),
//! versions, ALPN, the roots (the system's or `--ca`), PEM files (status 2 naming the file), and the
//! self-signed certificate of `listen --tls` without `--cert`. Nothing here runs without `--tls`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::cert::{self, Pin};
use super::verify::ServerVerifier;
use crate::exit;

/// A certificate chain and its key, from PEM files.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The client side's settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientOpts {
    /// The name sent and checked instead of the host (`--sni`).
    pub sni: Option<String>,
    /// A PEM bundle replacing the system roots (`--ca`).
    pub ca: Option<PathBuf>,
    pub pins: Vec<Pin>,
    pub insecure: bool,
    /// A client certificate for mutual TLS.
    pub identity: Option<Identity>,
    pub alpn: Vec<String>,
    pub tls13_only: bool,
}

/// The server side's settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerOpts {
    /// None: a fresh self-signed certificate.
    pub identity: Option<Identity>,
    /// Require a client certificate that chains to this PEM bundle.
    pub client_ca: Option<PathBuf>,
    pub alpn: Vec<String>,
    pub tls13_only: bool,
    /// Send no TLS 1.3 session tickets (`sendfile --receive`: a sender that never reads, as
    /// `ncat --ssl --send-only`, would otherwise close with them unread, and so with a reset).
    pub no_tickets: bool,
}

/// The crypto provider: aws-lc-rs (faster than ring here; see the commit that chose it), with the
/// AES-128-GCM suites first (the fastest on a CPU with AES-NI, as OpenSSL's default order).
///
/// aws-lc is built without its static initialiser (`.cargo/config.toml`), so a run without `--tls`
/// neither executes its CPUID probe nor maps its pages: `init` does that here, before the provider,
/// the self-signed key or a handshake first uses aws-lc (otherwise it would run without AES-NI).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    aws_lc_rs::init();
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    p.cipher_suites
        .sort_by_key(|s| !format!("{:?}", s.suite()).contains("AES_128_GCM"));
    Arc::new(p)
}

static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

fn versions(tls13_only: bool) -> &'static [&'static SupportedProtocolVersion] {
    if tls13_only {
        &TLS13_ONLY
    } else {
        rustls::DEFAULT_VERSIONS
    }
}

fn pem_error(path: &Path, what: &str, err: pem::Error) -> anyhow::Error {
    match err {
        pem::Error::Io(e) => exit::usage(format!("{}: {}", path.display(), exit::describe_io(&e))),
        pem::Error::NoItemsFound => {
            exit::usage(format!("{}: no {what} in the file", path.display()))
        }
        other => exit::usage(format!(
            "{}: not a PEM {what} file ({other:?})",
            path.display()
        )),
    }
}

/// Every certificate of a PEM file (status 2 when missing, malformed or empty).
pub(crate) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, "certificate", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificate", e))?;
    if certs.is_empty() {
        return Err(exit::usage(format!(
            "{}: no certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// The first private key of a PEM file: PKCS#8, PKCS#1 or SEC1.
pub(crate) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, "private key", e))
}

/// A root store from a PEM bundle.
fn roots_from(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(path)? {
        roots.add(c).map_err(|e| {
            exit::usage(format!(
                "{}: not a usable CA certificate ({e})",
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

/// The system's trust store.
fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "none found".into());
        return Err(anyhow!(
            "load the system's trusted certificates: {why} (give --ca FILE, or --pin)"
        ));
    }
    Ok(roots)
}

/// The key must match the certificate: rustls checks it (status 2 naming the files).
fn key_mismatch(id: &Identity, err: rustls::Error) -> anyhow::Error {
    exit::usage(format!(
        "{} does not match {}: {err}",
        id.key.display(),
        id.cert.display()
    ))
}

fn alpn(list: &[String]) -> Vec<Vec<u8>> {
    list.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// A client configuration and its verifier (kept to explain failures and to pin `--insecure`).
pub(crate) fn client_config(opts: &ClientOpts) -> Result<(Arc<ClientConfig>, Arc<ServerVerifier>)> {
    let provider = provider();
    let webpki = if opts.insecure || (!opts.pins.is_empty() && opts.ca.is_none()) {
        None
    } else {
        let roots = match &opts.ca {
            Some(path) => roots_from(path)?,
            None => system_roots()?,
        };
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| anyhow!("TLS roots: {e}"))?,
        )
    };
    let verifier = Arc::new(ServerVerifier::new(
        webpki,
        opts.pins.clone(),
        opts.insecure,
        provider.clone(),
    ));
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions(opts.tls13_only))
        .map_err(|e| anyhow!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let mut cfg = match &opts.identity {
        Some(id) => {
            let certs = load_certs(&id.cert)?;
            let key = load_key(&id.key)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| key_mismatch(id, e))?
        }
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = alpn(&opts.alpn);
    Ok((Arc::new(cfg), verifier))
}

/// A server configuration, and the pin of its certificate (what `-v` prints and a client passes to
/// `--pin`). `names` are the self-signed certificate's names when there is no `--cert`.
pub(crate) fn server_config(
    opts: &ServerOpts,
    names: &[String],
) -> Result<(Arc<ServerConfig>, String)> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(opts.tls13_only))
        .map_err(|e| anyhow!("TLS: {e}"))?;
    let builder = match &opts.client_ca {
        Some(path) => {
            let roots = roots_from(path)?;
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| exit::usage(format!("{}: {e}", path.display())))?,
            )
        }
        None => builder.with_no_client_auth(),
    };
    let (certs, key, id) = match &opts.identity {
        Some(id) => (load_certs(&id.cert)?, load_key(&id.key)?, Some(id)),
        None => {
            let (c, k) = self_signed(names)?;
            (vec![c], k, None)
        }
    };
    let pin = cert::pin_of(&certs[0])
        .map(|p| cert::show_pin(&p))
        .unwrap_or_default();
    let mut cfg = builder.with_single_cert(certs, key).map_err(|e| match id {
        Some(id) => key_mismatch(id, e),
        None => anyhow!("TLS: {e}"),
    })?;
    cfg.alpn_protocols = alpn(&opts.alpn);
    if opts.no_tickets {
        cfg.send_tls13_tickets = 0;
    }
    Ok((Arc::new(cfg), pin))
}

/// A fresh self-signed certificate (ECDSA P-256) for `names`, in memory.
fn self_signed(names: &[String]) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let mut usable: Vec<String> = Vec::new();
    for n in names {
        // A host name that is not a valid DNS name (or a duplicate) is left out, not fatal.
        if !usable.contains(n) && rcgen::CertificateParams::new(vec![n.clone()]).is_ok() {
            usable.push(n.clone());
        }
    }
    let made = rcgen::generate_simple_self_signed(usable)
        .map_err(|e| anyhow!("make a self-signed certificate: {e}"))?;
    let key = PrivateKeyDer::try_from(made.signing_key.serialize_der())
        .map_err(|e| anyhow!("make a self-signed certificate: {e}"))?;
    Ok((made.cert.der().clone(), key))
}
