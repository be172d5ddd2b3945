//! RSA keys, all through aws-lc-rs (constant-time private-key operations; the `rsa` crate's
//! are not, RUSTSEC-2023-0071): the machine's onboarding key pair — RSA-2048, public half as
//! ARM's `clientPublicKey` (base64 DER PKCS#1), private half as PKCS#8 PEM in the agent's Certs
//! folder — and the keys of client certificates, which sign RS256 client assertions.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::state::write_atomic;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine;
use std::fmt;
use std::path::Path;

pub const KEY_BITS: usize = 2048;

/// The most a PEM private-key file may hold (an RSA-8192 PKCS#8 PEM is under 7 KiB).
pub const MAX_KEY_FILE: u64 = 64 * 1024;

fn key_error(message: String) -> AzcmError {
    AzcmError::new(ErrorCode::RSA_KEYS, message)
}

/// An RSA private key. Its material never leaves aws-lc except as the PKCS#8 PEM written to
/// the agent's Certs folder.
pub struct RsaKey(KeyPair);

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaKey({} bits)", self.0.public_modulus_len() * 8)
    }
}

impl RsaKey {
    /// A new RSA-2048 key.
    pub fn generate() -> Result<Self> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(Self)
            .map_err(|e| key_error(format!("RSA key generation failed: {e}")))
    }

    /// A PKCS#8 `PRIVATE KEY` (DER).
    pub fn from_pkcs8_der(der: &[u8]) -> std::result::Result<Self, String> {
        KeyPair::from_pkcs8(der)
            .map(Self)
            .map_err(|e| format!("not an RSA PKCS#8 private key ({e})"))
    }

    /// A PKCS#1 `RSA PRIVATE KEY` (DER).
    pub fn from_pkcs1_der(der: &[u8]) -> std::result::Result<Self, String> {
        KeyPair::from_der(der)
            .map(Self)
            .map_err(|e| format!("not an RSA private key ({e})"))
    }

    /// The public key as DER PKCS#1 `RSAPublicKey`.
    pub fn public_pkcs1_der(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    /// An RSASSA-PKCS1-v1_5 SHA-256 signature of `message` (RS256).
    pub fn sign_sha256(&self, message: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut signature = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|e| std::io::Error::other(format!("RSA signing failed: {e}")))?;
        Ok(signature)
    }

    fn to_pkcs8_pem(&self) -> Result<String> {
        let der = self
            .0
            .as_der()
            .map_err(|e| key_error(format!("cannot encode the private key: {e}")))?;
        Ok(pem::encode_config(
            &pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        ))
    }
}

/// Whether `signature` is an RS256 signature of `message` by the DER PKCS#1 public key.
pub fn verify_sha256(public_pkcs1_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_pkcs1_der)
        .verify(message, signature)
        .is_ok()
}

pub fn generate() -> Result<RsaKey> {
    RsaKey::generate()
}

/// The public key as ARM's `clientPublicKey` carries it.
pub fn client_public_key(key: &RsaKey) -> Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(key.public_pkcs1_der()))
}

/// Stores the private key atomically, readable only by administrators (0600 / protected DACL).
pub fn save_private(path: &Path, key: &RsaKey) -> Result<()> {
    let pem = key.to_pkcs8_pem()?;
    write_atomic(path, pem.as_bytes()).map_err(|e| {
        key_error(format!(
            "cannot store the private key in {}: {e}",
            path.display()
        ))
        .with_detail("path", path.display().to_string())
    })
}

/// Reads the onboarding key: a regular file (never through a link), bounded in size.
pub fn load_private(path: &Path) -> Result<RsaKey> {
    let bytes = crate::files::read_state_file(path, MAX_KEY_FILE).map_err(|e| {
        key_error(format!(
            "cannot read the private key {}: {e}",
            path.display()
        ))
        .with_detail("path", path.display().to_string())
    })?;
    let invalid = |why: String| {
        key_error(format!(
            "the private key {} is not valid PKCS#8 PEM: {why}",
            path.display()
        ))
        .with_detail("path", path.display().to_string())
    };
    let block = pem::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
    if block.tag() != "PRIVATE KEY" {
        return Err(invalid(format!("a {} block", block.tag())));
    }
    RsaKey::from_pkcs8_der(block.contents()).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_and_round_trips_through_its_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = generate().unwrap();
        save_private(&path, &key).unwrap();
        let again = load_private(&path).unwrap();
        assert_eq!(again.public_pkcs1_der(), key.public_pkcs1_der());
        let sig = again.sign_sha256(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(verify_sha256(key.public_pkcs1_der(), b"hello", &sig));
        assert!(!verify_sha256(key.public_pkcs1_der(), b"hellO", &sig));
    }
}
