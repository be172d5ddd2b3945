//! `azcm genkey`: an RSA-2048 key pair whose public half is ARM's clientPublicKey format and
//! whose private half stays on disk, never in the output.

mod common;
use base64::Engine;
use common::Azcm;

#[test]
fn public_key_decodes_to_rsa_2048_and_matches_the_stored_private_key() {
    let azcm = Azcm::new();
    let run = azcm.json(&["genkey"]);
    let doc = run.doc();
    let b64 = doc["result"]["publicKey"].as_str().unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    // DER PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n (257 bytes: 2048 bits and a zero), e }.
    aws_lc_rs::rsa::PublicKey::from_der(&der).expect("DER PKCS#1 RSAPublicKey");
    assert_eq!(&der[..8], &[0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01]);
    assert_eq!(
        der[8], 0,
        "the modulus has its top bit set: 2048 bits exactly"
    );

    let key_path = azcm.certs_dir().join("onboarding.key");
    assert_eq!(
        common::host_path(doc["result"]["privateKeyPath"].as_str().unwrap()),
        key_path
    );
    let private = azcm::keys::load_private(&key_path).expect("stored private key");
    assert_eq!(private.public_pkcs1_der(), &der[..]);
    let signature = private.sign_sha256(b"probe").unwrap();
    assert_eq!(signature.len() * 8, 2048);
    assert!(azcm::keys::verify_sha256(&der, b"probe", &signature));

    let pem = std::fs::read_to_string(&key_path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains("PRIVATE KEY"));
        assert!(!out.contains(&body[..40]), "private key material in output");
    }
}

#[test]
fn each_run_makes_a_new_key_and_replaces_the_stored_one() {
    let azcm = Azcm::new();
    let first = azcm.json(&["genkey"]).doc()["result"]["publicKey"].clone();
    let second = azcm.json(&["genkey"]).doc()["result"]["publicKey"].clone();
    assert_ne!(first, second);
    let private = azcm::keys::load_private(&azcm.certs_dir().join("onboarding.key")).unwrap();
    let stored = azcm::keys::client_public_key(&private).unwrap();
    assert_eq!(serde_json::Value::String(stored), second);
}

#[test]
fn human_output_shows_the_public_key_only() {
    let azcm = Azcm::new();
    let run = azcm.run(["genkey"]);
    assert_eq!(run.code, 0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Public Key"))
        .expect("Public Key row");
    assert!(line
        .split(" : ")
        .nth(1)
        .unwrap()
        .starts_with("MIIBCgKCAQEA"));
    assert!(!run.stdout.contains("PRIVATE"));
}

#[cfg(unix)]
#[test]
fn an_unwritable_certs_folder_is_an_rsa_key_error() {
    let azcm = Azcm::new();
    // A file where the Certs folder should be: nothing can be stored there.
    std::fs::create_dir_all(azcm.config_dir()).unwrap();
    std::fs::create_dir_all(azcm.certs_dir().parent().unwrap()).unwrap();
    std::fs::write(azcm.certs_dir(), b"not a folder").unwrap();
    let run = azcm.json(&["genkey"]);
    assert_eq!(run.error_code(), "AZCM0103", "{}", run.stdout);
}
