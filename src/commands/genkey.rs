//! `azcm genkey`: make the onboarding key pair, keep the private key, print the public one.

use crate::context::Context;
use crate::error::Result;
use crate::keys;
use crate::view::{Human, Outcome, Section};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenkeyResult {
    public_key: String,
    public_key_format: &'static str,
    key_size: usize,
    private_key_path: String,
}

pub fn run(ctx: &Context<'_>) -> Result<Outcome> {
    ctx.require_admin_to_change_state("genkey")?;
    let _changing = crate::state::ChangeLock::acquire(ctx.paths()?, "genkey")?;
    let path = ctx.paths()?.onboarding_key();
    ctx.report
        .progress("Generating key pair", "RSA-2048", Some(0));
    let key = keys::generate()?;
    let public_key = keys::client_public_key(&key)?;
    ctx.report
        .progress("Generating key pair", "storing the private key", Some(50));
    ctx.report
        .verbose(&format!("storing the private key in {}", path.display()));
    keys::save_private(&path, &key)?;
    ctx.report
        .progress("Generating key pair", "done", Some(100));
    let result = GenkeyResult {
        public_key: public_key.clone(),
        public_key_format: "base64 DER PKCS#1 (ARM clientPublicKey)",
        key_size: keys::KEY_BITS,
        private_key_path: path.display().to_string(),
    };
    let human = Human::Sections(vec![Section::untitled()
        .row("Public Key", public_key)
        .row("Key Size", keys::KEY_BITS.to_string())
        .row("Private Key File", path.display().to_string())]);
    Ok(Outcome::new(result, human))
}
