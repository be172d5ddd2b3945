//! The machine's onboarding key pair: RSA-2048, public half as ARM's `clientPublicKey`
//! (base64 DER PKCS#1), private half as PKCS#8 PEM in the agent's Certs folder.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::state::write_atomic;
use base64::Engine;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::RsaPrivateKey;
use std::path::Path;

pub const KEY_BITS: usize = 2048;

fn key_error(message: String) -> AzcmError {
    AzcmError::new(ErrorCode::RSA_KEYS, message)
}

pub fn generate() -> Result<RsaPrivateKey> {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
        .map_err(|e| key_error(format!("RSA key generation failed: {e}")))
}

/// The public key as ARM's `clientPublicKey` carries it.
pub fn client_public_key(key: &RsaPrivateKey) -> Result<String> {
    let der = key
        .to_public_key()
        .to_pkcs1_der()
        .map_err(|e| key_error(format!("cannot encode the public key: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(der.as_bytes()))
}

/// Stores the private key atomically, readable only by administrators (0600 / protected DACL).
pub fn save_private(path: &Path, key: &RsaPrivateKey) -> Result<()> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key_error(format!("cannot encode the private key: {e}")))?;
    write_atomic(path, pem.as_bytes()).map_err(|e| {
        key_error(format!(
            "cannot store the private key in {}: {e}",
            path.display()
        ))
        .with_detail("path", path.display().to_string())
    })
}

pub fn load_private(path: &Path) -> Result<RsaPrivateKey> {
    let pem = std::fs::read_to_string(path).map_err(|e| {
        key_error(format!(
            "cannot read the private key {}: {e}",
            path.display()
        ))
    })?;
    RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| {
        key_error(format!(
            "the private key {} is not valid PKCS#8 PEM: {e}",
            path.display()
        ))
    })
}
