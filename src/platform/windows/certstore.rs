//! Service principal certificates from the Windows certificate store by thumbprint. The private
//! key signs where it lives: through CNG (NCryptSignHash) for keys in a key storage provider,
//! through CryptoAPI for keys imported into a legacy provider — never exported.

use super::wide;
use std::io;
use std::ptr;
use std::sync::Mutex;
use windows_sys::Win32::Foundation::NTE_BAD_ALGID;
use windows_sys::Win32::Security::Cryptography::{
    CertCloseStore, CertFindCertificateInStore, CertFreeCertificateContext, CertOpenStore,
    CryptAcquireCertificatePrivateKey, CryptAcquireContextW, CryptCreateHash, CryptDestroyHash,
    CryptGetProvParam, CryptReleaseContext, CryptSetHashParam, CryptSignHashW, NCryptFreeObject,
    NCryptSignHash, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_SHA256_ALGORITHM, CALG_SHA_256, CERT_CONTEXT,
    CERT_FIND_SHA1_HASH, CERT_NCRYPT_KEY_SPEC, CERT_STORE_OPEN_EXISTING_FLAG,
    CERT_STORE_PROV_SYSTEM_W, CERT_STORE_READONLY_FLAG, CERT_SYSTEM_STORE_CURRENT_USER,
    CERT_SYSTEM_STORE_LOCAL_MACHINE, CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG,
    CRYPT_ACQUIRE_SILENT_FLAG, CRYPT_INTEGER_BLOB, CRYPT_MACHINE_KEYSET, CRYPT_SILENT, HP_HASHVAL,
    MS_ENH_RSA_AES_PROV_W, NCRYPT_PAD_PKCS1_FLAG, NCRYPT_SILENT_FLAG, PKCS_7_ASN_ENCODING,
    PP_CONTAINER, PP_KEYSET_TYPE, PROV_RSA_AES, X509_ASN_ENCODING,
};

pub const CERTIFICATE_STORES: &[&str] = &["LocalMachine\\My", "CurrentUser\\My"];
const LOCATIONS: [u32; 2] = [
    CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CERT_SYSTEM_STORE_CURRENT_USER,
];

enum KeyHandle {
    Ncrypt(usize),
    Capi { provider: usize, key_spec: u32 },
}

/// The certificate's context (kept open: a key handle the API does not hand over is cached on
/// it) and its private key handle.
pub struct StoreKey {
    context: *const CERT_CONTEXT,
    handle: Mutex<KeyHandle>,
    caller_frees: bool,
}

// SAFETY: the context is only freed on drop, and key use is serialised by the mutex.
unsafe impl Send for StoreKey {}
// SAFETY: as above.
unsafe impl Sync for StoreKey {}

impl Drop for StoreKey {
    fn drop(&mut self) {
        let handle = self.handle.get_mut().unwrap_or_else(|e| e.into_inner());
        if self.caller_frees {
            // SAFETY: handles CryptAcquireCertificatePrivateKey gave us to free, freed once.
            unsafe {
                match *handle {
                    KeyHandle::Ncrypt(key) => {
                        NCryptFreeObject(key);
                    }
                    KeyHandle::Capi { provider, .. } => {
                        CryptReleaseContext(provider, 0);
                    }
                }
            }
        }
        // SAFETY: the context CertFindCertificateInStore returned, freed once.
        unsafe { CertFreeCertificateContext(self.context) };
    }
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

fn hresult(hr: i32) -> io::Result<()> {
    if hr == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(hr))
    }
}

impl StoreKey {
    pub fn sign_sha256(&self, digest: &[u8; 32]) -> io::Result<Vec<u8>> {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        match *handle {
            KeyHandle::Ncrypt(key) => sign_ncrypt(key, digest),
            KeyHandle::Capi { provider, key_spec } => sign_capi(provider, key_spec, digest),
        }
    }
}

fn sign_ncrypt(key: usize, digest: &[u8; 32]) -> io::Result<Vec<u8>> {
    let padding = BCRYPT_PKCS1_PADDING_INFO {
        pszAlgId: BCRYPT_SHA256_ALGORITHM,
    };
    let sign = |out: *mut u8, capacity: u32, len: &mut u32| {
        // SAFETY: `out` is null (a size query) or holds `capacity` bytes; the padding info
        // outlives the call.
        hresult(unsafe {
            NCryptSignHash(
                key,
                (&padding as *const BCRYPT_PKCS1_PADDING_INFO).cast(),
                digest.as_ptr(),
                32,
                out,
                capacity,
                len,
                NCRYPT_PAD_PKCS1_FLAG | NCRYPT_SILENT_FLAG,
            )
        })
    };
    let mut len = 0u32;
    sign(ptr::null_mut(), 0, &mut len)?;
    let mut signature = vec![0u8; len as usize];
    sign(signature.as_mut_ptr(), len, &mut len)?;
    signature.truncate(len as usize);
    Ok(signature)
}

fn sign_capi(provider: usize, key_spec: u32, digest: &[u8; 32]) -> io::Result<Vec<u8>> {
    match sign_with_provider(provider, key_spec, digest) {
        Err(e) if e.raw_os_error() == Some(NTE_BAD_ALGID) => {
            // The base, strong and enhanced RSA providers have no SHA-256; the same key
            // container opened through the AES provider signs it (as .NET does).
            let aes = reopen_with_aes_provider(provider).map_err(|e| {
                io::Error::other(format!(
                    "the key is held by a legacy cryptographic provider without SHA-256 and \
                     cannot be reopened with the AES provider ({e}); import the certificate \
                     into a key storage provider (certutil -csp \"Microsoft Software Key \
                     Storage Provider\" -importpfx)"
                ))
            })?;
            let signature = sign_with_provider(aes, key_spec, digest);
            // SAFETY: the context opened just above, released once.
            unsafe { CryptReleaseContext(aes, 0) };
            signature
        }
        other => other,
    }
}

fn reopen_with_aes_provider(provider: usize) -> io::Result<usize> {
    let mut name = vec![0u8; 1024];
    let mut len = name.len() as u32;
    // SAFETY: the buffer holds `len` bytes; the container name comes back NUL-terminated.
    if unsafe { CryptGetProvParam(provider, PP_CONTAINER, name.as_mut_ptr(), &mut len, 0) } == 0 {
        return Err(last_error());
    }
    let end = name.iter().position(|&b| b == 0).unwrap_or(len as usize);
    let container = wide(&String::from_utf8_lossy(&name[..end]));
    let mut keyset = 0u32;
    let mut size = 4u32;
    // SAFETY: a 4-byte out-buffer for the keyset type; a provider that cannot say is a user's.
    let machine = unsafe {
        CryptGetProvParam(
            provider,
            PP_KEYSET_TYPE,
            (&mut keyset as *mut u32).cast(),
            &mut size,
            0,
        )
    } != 0
        && keyset & CRYPT_MACHINE_KEYSET != 0;
    let mut aes = 0usize;
    let flags = CRYPT_SILENT | if machine { CRYPT_MACHINE_KEYSET } else { 0 };
    // SAFETY: NUL-terminated container and provider names; out-pointer for the context.
    if unsafe {
        CryptAcquireContextW(
            &mut aes,
            container.as_ptr(),
            MS_ENH_RSA_AES_PROV_W,
            PROV_RSA_AES,
            flags,
        )
    } == 0
    {
        return Err(last_error());
    }
    Ok(aes)
}

fn sign_with_provider(provider: usize, key_spec: u32, digest: &[u8; 32]) -> io::Result<Vec<u8>> {
    let mut hash = 0usize;
    // SAFETY: a CryptoAPI provider context; out-pointer for the hash.
    if unsafe { CryptCreateHash(provider, CALG_SHA_256, 0, 0, &mut hash) } == 0 {
        return Err(last_error());
    }
    let result = (|| {
        // SAFETY: the digest is 32 bytes, SHA-256's size, as HP_HASHVAL expects.
        if unsafe { CryptSetHashParam(hash, HP_HASHVAL, digest.as_ptr(), 0) } == 0 {
            return Err(last_error());
        }
        let sign = |out: *mut u8, len: &mut u32| {
            // SAFETY: `out` is null (a size query) or holds `*len` bytes.
            if unsafe { CryptSignHashW(hash, key_spec, ptr::null(), 0, out, len) } == 0 {
                Err(last_error())
            } else {
                Ok(())
            }
        };
        let mut len = 0u32;
        sign(ptr::null_mut(), &mut len)?;
        let mut signature = vec![0u8; len as usize];
        sign(signature.as_mut_ptr(), &mut len)?;
        signature.truncate(len as usize);
        // CryptoAPI writes the signature little-endian; PKCS #1 is big-endian.
        signature.reverse();
        Ok(signature)
    })();
    // SAFETY: the hash created above, destroyed once.
    unsafe { CryptDestroyHash(hash) };
    result
}

pub fn find_store_certificate(
    thumbprint: &[u8; 20],
) -> io::Result<Option<(Vec<u8>, &'static str, StoreKey)>> {
    let name = wide("MY");
    for (label, location) in CERTIFICATE_STORES.iter().zip(LOCATIONS) {
        // SAFETY: a NUL-terminated store name; read-only, existing stores only.
        let store = unsafe {
            CertOpenStore(
                CERT_STORE_PROV_SYSTEM_W,
                0,
                0,
                location | CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG,
                name.as_ptr().cast(),
            )
        };
        if store.is_null() {
            // No such store (e.g. a service account without a loaded profile).
            continue;
        }
        let blob = CRYPT_INTEGER_BLOB {
            cbData: 20,
            pbData: thumbprint.as_ptr() as *mut u8,
        };
        // SAFETY: an open store and a 20-byte hash blob that outlives the call.
        let context = unsafe {
            CertFindCertificateInStore(
                store,
                X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
                0,
                CERT_FIND_SHA1_HASH,
                (&blob as *const CRYPT_INTEGER_BLOB).cast(),
                ptr::null(),
            )
        };
        // The context keeps its store alive: our handle can go.
        // SAFETY: the store opened above, closed once.
        unsafe { CertCloseStore(store, 0) };
        if context.is_null() {
            continue;
        }
        // SAFETY: a valid context's encoded certificate.
        let der = unsafe {
            std::slice::from_raw_parts((*context).pbCertEncoded, (*context).cbCertEncoded as usize)
        }
        .to_vec();
        let mut handle = 0usize;
        let mut key_spec = 0u32;
        let mut caller_frees = 0;
        // SAFETY: a valid context; out-pointers for the key handle, its kind and ownership.
        let acquired = unsafe {
            CryptAcquireCertificatePrivateKey(
                context,
                CRYPT_ACQUIRE_SILENT_FLAG | CRYPT_ACQUIRE_PREFER_NCRYPT_KEY_FLAG,
                ptr::null(),
                &mut handle,
                &mut key_spec,
                &mut caller_frees,
            )
        };
        if acquired == 0 {
            let e = last_error();
            // SAFETY: the context found above, freed once.
            unsafe { CertFreeCertificateContext(context) };
            return Err(io::Error::new(
                e.kind(),
                format!("found in {label}, but its private key cannot be used: {e}"),
            ));
        }
        let handle = if key_spec == CERT_NCRYPT_KEY_SPEC {
            KeyHandle::Ncrypt(handle)
        } else {
            KeyHandle::Capi {
                provider: handle,
                key_spec,
            }
        };
        let key = StoreKey {
            context,
            handle: Mutex::new(handle),
            caller_frees: caller_frees != 0,
        };
        return Ok(Some((der, label, key)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::Digest as _;
    use windows_sys::Win32::Security::Cryptography::{
        CertAddCertificateContextToStore, CertControlStore, CertCreateSelfSignCertificate,
        CertDeleteCertificateFromStore, CertStrToNameW, CryptDestroyKey, CryptGenKey,
        AT_KEYEXCHANGE, CERT_STORE_ADD_REPLACE_EXISTING, CERT_STORE_CTRL_COMMIT,
        CERT_X500_NAME_STR, CRYPT_DELETEKEYSET, CRYPT_KEY_PROV_INFO, CRYPT_NEWKEYSET,
        MS_ENHANCED_PROV_W, PROV_RSA_FULL,
    };

    fn user_store() -> *mut core::ffi::c_void {
        let name = wide("MY");
        // SAFETY: a NUL-terminated store name.
        let store = unsafe {
            CertOpenStore(
                CERT_STORE_PROV_SYSTEM_W,
                0,
                0,
                CERT_SYSTEM_STORE_CURRENT_USER,
                name.as_ptr().cast(),
            )
        };
        assert!(!store.is_null(), "CertOpenStore: {}", last_error());
        store
    }

    /// A self-signed certificate whose RSA key lives in a new container of the legacy
    /// enhanced provider (no SHA-256 there: the signing must reopen it with the AES provider),
    /// added to CurrentUser\My. Returns the added context and the certificate.
    fn issue_into_user_store(container: &[u16]) -> (*const CERT_CONTEXT, Vec<u8>) {
        // SAFETY: test-only Win32 calls on buffers that outlive them.
        unsafe {
            let mut provider = 0usize;
            assert_ne!(
                CryptAcquireContextW(
                    &mut provider,
                    container.as_ptr(),
                    MS_ENHANCED_PROV_W,
                    PROV_RSA_FULL,
                    CRYPT_NEWKEYSET
                ),
                0,
                "CryptAcquireContextW: {}",
                last_error()
            );
            let mut key = 0usize;
            assert_ne!(
                CryptGenKey(provider, AT_KEYEXCHANGE, 2048 << 16, &mut key),
                0,
                "CryptGenKey: {}",
                last_error()
            );
            CryptDestroyKey(key);
            let x500 = wide("CN=azcm store test principal");
            let mut encoded = vec![0u8; 256];
            let mut len = encoded.len() as u32;
            assert_ne!(
                CertStrToNameW(
                    X509_ASN_ENCODING,
                    x500.as_ptr(),
                    CERT_X500_NAME_STR,
                    ptr::null(),
                    encoded.as_mut_ptr(),
                    &mut len,
                    ptr::null_mut()
                ),
                0,
                "CertStrToNameW: {}",
                last_error()
            );
            let subject = CRYPT_INTEGER_BLOB {
                cbData: len,
                pbData: encoded.as_mut_ptr(),
            };
            let info = CRYPT_KEY_PROV_INFO {
                pwszContainerName: container.as_ptr() as *mut u16,
                pwszProvName: MS_ENHANCED_PROV_W as *mut u16,
                dwProvType: PROV_RSA_FULL,
                dwFlags: 0,
                cProvParam: 0,
                rgProvParam: ptr::null_mut(),
                dwKeySpec: AT_KEYEXCHANGE,
            };
            let cert = CertCreateSelfSignCertificate(
                provider,
                &subject,
                0,
                &info,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
            );
            assert!(
                !cert.is_null(),
                "CertCreateSelfSignCertificate: {}",
                last_error()
            );
            CryptReleaseContext(provider, 0);
            let der =
                std::slice::from_raw_parts((*cert).pbCertEncoded, (*cert).cbCertEncoded as usize)
                    .to_vec();
            let store = user_store();
            let mut added = ptr::null_mut();
            assert_ne!(
                CertAddCertificateContextToStore(
                    store,
                    cert,
                    CERT_STORE_ADD_REPLACE_EXISTING,
                    &mut added
                ),
                0,
                "CertAddCertificateContextToStore: {}",
                last_error()
            );
            // Wine keeps additions in memory until committed; Windows writes them at once.
            CertControlStore(store, 0, CERT_STORE_CTRL_COMMIT, ptr::null());
            CertCloseStore(store, 0);
            CertFreeCertificateContext(cert);
            (added, der)
        }
    }

    /// Undoes [`issue_into_user_store`]: the certificate, then its key container.
    fn remove_from_user_store(added: *const CERT_CONTEXT, container: &[u16]) {
        // SAFETY: the context added by issue_into_user_store, deleted (and freed) once; then
        // its key container.
        unsafe {
            let store = user_store();
            CertDeleteCertificateFromStore(added);
            CertControlStore(store, 0, CERT_STORE_CTRL_COMMIT, ptr::null());
            CertCloseStore(store, 0);
            let mut gone = 0usize;
            CryptAcquireContextW(
                &mut gone,
                container.as_ptr(),
                MS_ENHANCED_PROV_W,
                PROV_RSA_FULL,
                CRYPT_DELETEKEYSET,
            );
        }
    }

    /// The key itself (PKCS #1): Wine leaves the algorithm's NULL parameters out.
    fn rsa_public_key(der: &[u8]) -> Vec<u8> {
        use x509_cert::der::Decode;
        let cert = x509_cert::Certificate::from_der(der).unwrap();
        let spki = cert.tbs_certificate.subject_public_key_info;
        spki.subject_public_key.raw_bytes().to_vec()
    }

    #[test]
    fn a_certificate_in_the_user_store_signs_by_thumbprint() {
        let container = wide(&format!("azcm-store-test-{}", std::process::id()));
        let (added, der) = issue_into_user_store(&container);
        let thumbprint: [u8; 20] = sha1::Sha1::digest(&der).into();
        let found = find_store_certificate(&thumbprint);
        let message = b"azcm client assertion";
        let digest: [u8; 32] = sha2::Sha256::digest(message).into();
        // Sign and let go of the key before the cleanup, which must run whatever happened.
        let outcome =
            found.map(|f| f.map(|(der, store, key)| (der, store, key.sign_sha256(&digest))));
        remove_from_user_store(added, &container);
        let (found_der, store, signed) = outcome.unwrap().expect("found by thumbprint");
        assert_eq!(found_der, der);
        assert_eq!(store, "CurrentUser\\My");
        let signature = signed.unwrap();
        assert!(
            crate::keys::verify_sha256(&rsa_public_key(&der), message, &signature),
            "a PKCS #1 v1.5 SHA-256 signature by the certificate's key"
        );
    }

    #[test]
    fn a_store_certificate_signs_the_client_assertion() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let container = wide(&format!("azcm-assertion-test-{}", std::process::id()));
        let (added, der) = issue_into_user_store(&container);
        let thumbprint: String = sha1::Sha1::digest(&der)
            .iter()
            .map(|b| format!("{b:02x} "))
            .collect();
        let outcome = crate::auth::ClientCertificate::from_store(&thumbprint).map(|c| {
            (
                c.thumbprint(),
                c.store(),
                c.assertion(
                    "client-id",
                    "https://login.example/tenant/oauth2/v2.0/token",
                ),
            )
        });
        remove_from_user_store(added, &container);
        let (shown, store, assertion) = outcome.unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(shown, thumbprint.replace(' ', "").to_uppercase());
        assert_eq!(store, Some("CurrentUser\\My"));
        let jwt = assertion.unwrap();
        let (input, signature) = jwt.rsplit_once('.').unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(header["x5t"].as_str().unwrap())
                .unwrap(),
            sha1::Sha1::digest(&der).to_vec()
        );
        assert!(
            crate::keys::verify_sha256(
                &rsa_public_key(&der),
                input.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            ),
            "the assertion is signed by the certificate's key"
        );
    }

    #[test]
    fn an_unknown_thumbprint_is_not_found() {
        assert!(find_store_certificate(&[0x5a; 20]).unwrap().is_none());
    }
}
