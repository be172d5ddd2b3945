//! --service-principal-cert bytes (PEM or PFX): a certificate whose key matches, or a reason.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("cert.pem");
    if let Ok(cert) = azcm::auth::ClientCertificate::from_bytes(path, data) {
        assert_eq!(cert.thumbprint().len(), 40);
    }
});
