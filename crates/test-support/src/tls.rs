//! TLS in front of the local Postgres and RabbitMQ, with certificates made here: a CA, and server
//! certificates it signs. The local servers speak plaintext, so a proxy terminates TLS and passes
//! the bytes on: Postgres's way (its `SSLRequest`, answered `S`, then the handshake) or AMQPS's
//! (TLS from the first byte). What the client under test does is real TLS with real checks.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, PEM.
    pub pem: String,
    dir: std::path::PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        let dir = std::env::temp_dir().join(crate::unique_name("uapi-test-ca"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self { issuer: Issuer::new(params, key), pem, dir }
    }

    /// The CA certificate written to a file (for `sslrootcert` or `amqp.ca_file`).
    pub fn pem_file(&self) -> String {
        let path = self.dir.join("ca.pem");
        std::fs::write(&path, &self.pem).expect("write CA");
        path.to_string_lossy().into_owned()
    }

    /// A server configuration with a certificate for `names` (host names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("server certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], key)
            .expect("server config");
        Arc::new(config)
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the proxy starts TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Postgres: an 8-byte `SSLRequest` first, answered `S`; a client that does not ask is refused.
    Postgres,
    /// TLS from the first byte (AMQPS).
    Direct,
}

/// Listens on 127.0.0.1 and proxies each TLS connection, decrypted, to `upstream`. Returns the
/// port; the proxy lives as long as the test's runtime.
pub async fn tls_proxy(server: Arc<rustls::ServerConfig>, protocol: Protocol, upstream: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(server);
    let upstream = upstream.to_owned();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                if protocol == Protocol::Postgres {
                    let mut request = [0u8; 8];
                    // 80877103: the SSLRequest code, after the length 8.
                    if client.read_exact(&mut request).await.is_err() || request != [0, 0, 0, 8, 4, 210, 22, 47] {
                        return;
                    }
                    if client.write_all(b"S").await.is_err() {
                        return;
                    }
                }
                let Ok(mut tls) = acceptor.accept(client).await else { return };
                let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    port
}
