//! TLS to Postgres and RabbitMQ, with rustls (no OpenSSL).
//!
//! Postgres follows libpq's URL parameters: `sslmode` (`disable`, `allow`/`prefer`, `require`,
//! `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file of the CA certificates to trust;
//! without it, the system's trust store). As in libpq, `require` encrypts without checking the
//! certificate unless `sslrootcert` is given (then it is `verify-ca`); `verify-ca` checks the
//! chain; `verify-full` the chain and the host name. Without `sslmode` the connection is
//! plaintext. RabbitMQ: an `amqps://` URL, verified against `amqp.ca_file` or the system's store.

use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConfig, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How a Postgres connection is secured (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, unverified (libpq's `allow` and `prefer`).
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, the chain checked against the roots.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

/// A Postgres URL split into what tokio-postgres reads and what this module does. `Debug` leaves
/// the URL (and its password) out.
#[derive(Clone)]
pub struct PgTarget {
    /// The URL without `sslmode` and `sslrootcert`.
    pub url: String,
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of trusted CA certificates.
    pub root_cert: Option<String>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget").field("mode", &self.mode).field("root_cert", &self.root_cert).finish_non_exhaustive()
    }
}

impl PgTarget {
    pub fn parse(url: &str) -> Result<Self, String> {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let mut mode = None;
        let mut root_cert = None;
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter_map(|(k, v)| match k.as_ref() {
                "sslmode" => {
                    mode = Some(v.into_owned());
                    None
                }
                "sslrootcert" => {
                    root_cert = Some(v.into_owned()).filter(|v| !v.is_empty());
                    None
                }
                _ => Some((k.into_owned(), v.into_owned())),
            })
            .collect();
        parsed.set_query(None);
        if !kept.is_empty() {
            parsed.query_pairs_mut().extend_pairs(kept);
        }
        let mode = match mode.as_deref() {
            None | Some("disable") => SslMode::Disable,
            Some("allow" | "prefer") => SslMode::Prefer,
            Some("require") if root_cert.is_some() => SslMode::VerifyCa,
            Some("require") => SslMode::Require,
            // Checking the chain but not the name is only worth something against a private CA:
            // against the system's store any public certificate would pass.
            Some("verify-ca") if root_cert.is_none() => {
                return Err(
                    "sslmode=verify-ca needs sslrootcert (a private CA); use verify-full with the system's CAs".into(),
                );
            }
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => {
                return Err(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        };
        Ok(Self { url: parsed.into(), mode, root_cert })
    }
}

/// Opens one Postgres connection as `url` says (see the module's documentation).
pub async fn pg_connect(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    let target = PgTarget::parse(url).map_err(ConnectionError::BadConnection)?;
    if target.mode == SslMode::Disable {
        return AsyncPgConnection::establish(&target.url).await;
    }
    let bad = |e: String| ConnectionError::BadConnection(e);
    let mut config: tokio_postgres::Config = target.url.parse().map_err(|e| bad(format!("database URL: {e}")))?;
    config.ssl_mode(if target.mode == SslMode::Prefer {
        tokio_postgres::config::SslMode::Prefer
    } else {
        tokio_postgres::config::SslMode::Require
    });
    let client_config = client_config(target.mode, target.root_cert.as_deref()).map_err(bad)?;
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(client_config);
    let (client, connection) = config.connect(tls).await.map_err(|e| bad(describe(&e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// The error and its causes on one line (a certificate refused is a cause of "error performing TLS handshake").
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The roots to trust: the PEM file's certificates, or the system's store.
pub fn roots(pem_file: Option<&str>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match pem_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            if certs.is_empty() {
                return Err(format!("sslrootcert {path}: no certificate in it"));
            }
            let (_, refused) = roots.add_parsable_certificates(certs);
            if refused > 0 {
                return Err(format!("sslrootcert {path}: {refused} certificate(s) could not be used"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err("no system CA certificates found; give sslrootcert".into());
            }
        }
    }
    Ok(roots)
}

fn client_config(mode: SslMode, root_cert: Option<&str>) -> Result<ClientConfig, String> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Unverified(provider.clone())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root_cert)?), provider.clone())
                .build()
                .map_err(|e| format!("TLS roots: {e}"))?;
            if mode == SslMode::VerifyCa { Arc::new(AnyName(webpki)) } else { webpki }
        }
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `require`/`prefer` without roots: encrypted, the certificate not checked (libpq's meaning);
/// the handshake's signatures still are.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain to a trusted root is checked, the host name is not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_parameters_are_read_and_removed_from_the_url() {
        let t = PgTarget::parse("postgres://u:p@db:5432/x?sslmode=verify-full&sslrootcert=/ca.pem&application_name=a")
            .expect("parses");
        assert_eq!((t.mode, t.root_cert.as_deref()), (SslMode::VerifyFull, Some("/ca.pem")));
        assert_eq!(t.url, "postgres://u:p@db:5432/x?application_name=a");
        let plain = PgTarget::parse("postgres://db/x").expect("parses");
        assert_eq!((plain.mode, plain.url.as_str()), (SslMode::Disable, "postgres://db/x"));
        let with_ca = PgTarget::parse("postgres://db/x?sslmode=require&sslrootcert=/ca.pem").expect("parses");
        assert_eq!(with_ca.mode, SslMode::VerifyCa, "libpq: require with a root certificate verifies the CA");
        assert_eq!(PgTarget::parse("postgres://db/x?sslmode=prefer").expect("parses").mode, SslMode::Prefer);
        assert!(PgTarget::parse("postgres://db/x?sslmode=verify_full").is_err());
        assert!(PgTarget::parse("postgres://db/x?sslmode=verify-ca").is_err(), "verify-ca without a private CA");
        let shown = format!("{:?}", PgTarget::parse("postgres://u:hunter2@db/x?sslmode=require").expect("parses"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
