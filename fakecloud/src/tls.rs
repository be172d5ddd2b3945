//! The fake cloud's own certificate authority and the loopback server certificate it signs.
//! azcm trusts the CA only through its documented extra-trusted-roots setting.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

pub struct TlsMaterial {
    /// The CA certificate (PEM) a client must trust.
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
    /// The CA, to sign more server certificates (the check scenarios).
    pub ca: Arc<CertifiedIssuer<'static, KeyPair>>,
}

/// Names every fake server certificate is valid for: loopback, and the test domain the fake
/// DNS server answers for.
pub const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1", "*.azcmfake.test"];

/// A server configuration with a leaf for [`SERVER_NAMES`] signed by `ca`; `expired` makes a
/// leaf whose validity ended yesterday.
pub fn server_config(
    ca: &CertifiedIssuer<'static, KeyPair>,
    expired: bool,
) -> Result<Arc<rustls::ServerConfig>, Box<dyn std::error::Error + Send + Sync>> {
    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(
        SERVER_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )?;
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if expired {
        let now = std::time::SystemTime::now();
        leaf.not_before = (now - std::time::Duration::from_secs(30 * 86400)).into();
        leaf.not_after = (now - std::time::Duration::from_secs(86400)).into();
    }
    let leaf_cert = leaf.signed_by(&leaf_key, ca)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                leaf_cert.der().clone(),
                CertificateDer::from(ca.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(server_config))
}

/// A CA of its own (not the fake cloud's): what a TLS-inspecting proxy would present.
pub fn other_ca(
) -> Result<CertifiedIssuer<'static, KeyPair>, Box<dyn std::error::Error + Send + Sync>> {
    new_ca("an untrusted inspecting proxy CA")
}

fn new_ca(
    name: &str,
) -> Result<CertifiedIssuer<'static, KeyPair>, Box<dyn std::error::Error + Send + Sync>> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(CertifiedIssuer::self_signed(
        ca_params,
        KeyPair::generate()?,
    )?)
}

pub fn generate() -> Result<TlsMaterial, Box<dyn std::error::Error + Send + Sync>> {
    let ca = new_ca("azcm fake cloud test CA")?;
    let server_config = server_config(&ca, false)?;
    Ok(TlsMaterial {
        ca_pem: ca.pem(),
        server_config,
        ca: Arc::new(ca),
    })
}
