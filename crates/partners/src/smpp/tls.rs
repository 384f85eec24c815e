//! TLS to an SMSC that asks for it (SMPP over TLS, usually port 3550), verified against the
//! system's roots with rustls — the same stack the operator HTTP client uses.

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName};

use super::esme::Stream;

fn config() -> std::io::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    for certificate in loaded.certs {
        // A root the system holds but rustls cannot read is skipped, as reqwest does.
        if let Err(error) = roots.add(certificate) {
            tracing::debug!(%error, "skipped a system root");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

pub(super) async fn wrap(
    tcp: tokio::net::TcpStream,
    host: &str,
    timeout_ms: u64,
) -> std::io::Result<Box<dyn Stream>> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let connector = TlsConnector::from(Arc::new(config()?));
    let stream = tokio::time::timeout(
        Duration::from_millis(timeout_ms),
        connector.connect(name, tcp),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
    Ok(Box::new(stream))
}
