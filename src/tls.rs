//! TLS for every connection azcm makes (Entra ID, ARM, the connectivity check): rustls on
//! aws-lc-rs, TLS 1.2 or newer, the platform's certificate verifier plus the extra trusted roots
//! of `AZCM_EXTRA_CA_CERTS`. Verification is always on.

use crate::error::{AzcmError, ErrorCode, Result};
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;

/// Environment variable naming a PEM file of extra root certificates to trust (besides the
/// platform's), e.g. a TLS-inspecting proxy's CA or a test cloud's CA.
pub const EXTRA_CA_ENV: &str = "AZCM_EXTRA_CA_CERTS";

/// A client configuration and, when the platform verifier had to be left out, why.
pub struct TlsSetup {
    pub config: rustls::ClientConfig,
    pub fallback: Option<String>,
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The certificates of `AZCM_EXTRA_CA_CERTS` (none when it is unset).
pub fn extra_roots() -> Result<Vec<CertificateDer<'static>>> {
    let Some(path) = std::env::var_os(EXTRA_CA_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
    else {
        return Ok(Vec::new());
    };
    let bad = |why: String| {
        AzcmError::new(
            ErrorCode::CONFIG_FILE,
            format!(
                "cannot use the extra trusted roots in {} ({EXTRA_CA_ENV}): {why}",
                path.display()
            ),
        )
        .with_detail("path", path.display().to_string())
    };
    let text = crate::files::read_input(&path, crate::files::MAX_CA_FILE)
        .map_err(|e| bad(e.to_string()))?;
    let blocks = pem::parse_many(&text).map_err(|e| bad(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.into_contents()))
        .collect();
    if certs.is_empty() {
        return Err(bad("the file holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The client configuration, offering `alpn` (empty: none). Built once per process: loading
/// the platform's roots costs more than many handshakes. The fallback note comes with the
/// first call only, so it is reported once.
pub fn client_config(alpn: &[&[u8]]) -> Result<TlsSetup> {
    static BUILT: std::sync::OnceLock<Result<rustls::ClientConfig>> = std::sync::OnceLock::new();
    static FALLBACK: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let base = BUILT.get_or_init(|| {
        build().map(|setup| {
            *FALLBACK.lock().unwrap_or_else(|p| p.into_inner()) = setup.fallback;
            setup.config
        })
    });
    let mut config = base.clone()?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let fallback = FALLBACK.lock().unwrap_or_else(|p| p.into_inner()).take();
    Ok(TlsSetup { config, fallback })
}

fn build() -> Result<TlsSetup> {
    let roots = extra_roots()?;
    let provider = provider();
    let setup_error =
        |why: String| AzcmError::new(ErrorCode::NETWORK, format!("cannot set up TLS: {why}"));
    let builder = || {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| setup_error(e.to_string()))
    };
    let platform = if roots.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots.clone(), provider.clone())
    };
    let (config, fallback) = match platform {
        Ok(verifier) => (
            builder()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth(),
            None,
        ),
        // A platform verifier that cannot take extra roots (seen with Wine's crypt32): verify
        // against the extra roots alone. Stricter, never weaker.
        Err(err) if !roots.is_empty() => {
            let mut store = rustls::RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(roots);
            if added == 0 {
                return Err(setup_error(format!(
                    "no usable certificate in {EXTRA_CA_ENV}"
                )));
            }
            (
                builder()?
                    .with_root_certificates(store)
                    .with_no_client_auth(),
                Some(format!(
                    "the platform's certificate verifier cannot take the roots in {EXTRA_CA_ENV} ({err}); verifying servers against those roots only"
                )),
            )
        }
        Err(err) => return Err(setup_error(err.to_string())),
    };
    Ok(TlsSetup { config, fallback })
}
