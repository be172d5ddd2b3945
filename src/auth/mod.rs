//! Where ARM access tokens come from, over azcm's own HTTP client: a service principal with a
//! secret or a certificate (azure_identity's client-secret and client-assertion credentials),
//! an access token the caller already has, a person signing in with a device code, or the Azure
//! CLI's session. [`flags`] turns the sign-in flags into one [`AuthMethod`]. Secrets live in
//! [`Secret`]s and never reach output, logs or errors.

pub mod flags;

use crate::cloud::Cloud;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::keys::RsaKey;
use crate::report::Reporter;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How `connect`/`disconnect` authenticate.
pub enum AuthMethod {
    ServicePrincipalSecret {
        tenant_id: String,
        client_id: String,
        secret: Secret,
    },
    ServicePrincipalCertificate {
        tenant_id: String,
        client_id: String,
        certificate: Box<ClientCertificate>,
    },
    AccessToken(Secret),
    /// A user signs in on another device (device authorization grant); the tenant is the
    /// subscription's when given, else the user's home tenant.
    DeviceCode {
        tenant_id: Option<String>,
    },
    /// The account of the Azure CLI session on this machine (`az login`).
    AzureCli {
        tenant_id: Option<String>,
    },
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::ServicePrincipalSecret {
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ServicePrincipalSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            AuthMethod::ServicePrincipalCertificate {
                tenant_id,
                client_id,
                certificate,
            } => f
                .debug_struct("ServicePrincipalCertificate")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("thumbprint", &certificate.thumbprint())
                .finish_non_exhaustive(),
            AuthMethod::AccessToken(_) => f.write_str("AccessToken(..)"),
            AuthMethod::DeviceCode { tenant_id } => f
                .debug_struct("DeviceCode")
                .field("tenant_id", tenant_id)
                .finish(),
            AuthMethod::AzureCli { tenant_id } => f
                .debug_struct("AzureCli")
                .field("tenant_id", tenant_id)
                .finish(),
        }
    }
}

impl AuthMethod {
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::ServicePrincipalSecret { .. } => "servicePrincipalSecret",
            AuthMethod::ServicePrincipalCertificate { .. } => "servicePrincipalCertificate",
            AuthMethod::AccessToken(_) => "accessToken",
            AuthMethod::DeviceCode { .. } => "deviceCode",
            AuthMethod::AzureCli { .. } => "azureCli",
        }
    }

    /// How the sign-in is described to a person.
    pub fn description(&self) -> &'static str {
        match self {
            AuthMethod::ServicePrincipalSecret { .. } => "a service principal and its secret",
            AuthMethod::ServicePrincipalCertificate { .. } => {
                "a service principal and its certificate"
            }
            AuthMethod::AccessToken(_) => "the access token given",
            AuthMethod::DeviceCode { .. } => "a device code (a person signs in in a browser)",
            AuthMethod::AzureCli { .. } => "the Azure CLI's signed-in account",
        }
    }
}

enum TokenSource {
    Credential(Arc<dyn TokenCredential>),
    /// The Azure CLI: its failures are about the CLI session, not Entra's answer.
    AzureCli(Arc<dyn TokenCredential>),
    Fixed(Secret),
}

/// Hands out ARM access tokens for one cloud.
pub struct Tokens {
    source: TokenSource,
    scope: String,
    /// The command's --retry-timeout budget: Entra ID gets no more time than ARM does, however
    /// it fails (5xx, resets, a body that trickles in).
    budget: Duration,
    deadline: Instant,
}

/// azure_identity's pipeline over azcm's HTTP client, for the cloud's authority.
fn client_options(cloud: &Cloud, http: &reqwest::Client) -> ClientOptions {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = cloud.authority.clone();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(crate::http::BoundedTransport {
            client: http.clone(),
            max: crate::http::MAX_ENTRA_BODY,
        }))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
        ..Default::default()
    }
}

/// Entra ID errors carry an AADSTS code and a description without the secret: keep those,
/// drop azure_identity's troubleshooting boilerplate.
fn credential_error(err: azure_core::Error) -> AzcmError {
    let text = err.to_string();
    if let Some(at) = text.find("AADSTS") {
        let description: String = text[at..]
            .split(" Trace ID:")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let code = description.split(':').next().unwrap_or("").to_string();
        return AzcmError::new(
            ErrorCode::INVALID_CREDENTIALS,
            format!("Entra ID refused the credentials: {description}"),
        )
        .with_detail("aadsts", code);
    }
    // azure_identity's own sentence first; the cause it wraps (a refused answer, a TLS
    // failure) after it, where it adds something.
    let chain = crate::http::error_chain(&err);
    let cause = chain
        .rsplit(": ")
        .next()
        .filter(|c| !text.contains(c))
        .map(|c| format!(" ({})", first_line(c)))
        .unwrap_or_default();
    AzcmError::new(
        ErrorCode::NETWORK,
        format!(
            "cannot get a token from Entra ID: {}{cause}",
            first_line(&text)
        ),
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

impl Tokens {
    pub fn new(
        method: AuthMethod,
        cloud: &Cloud,
        http: &reqwest::Client,
        budget: Duration,
    ) -> Result<Self> {
        let scope = format!("{}/.default", cloud.audience.trim_end_matches('/'));
        let invalid = |e: azure_core::Error| {
            AzcmError::invalid_argument(format!(
                "invalid service principal settings: {}",
                first_line(&e.to_string())
            ))
        };
        let source = match method {
            AuthMethod::AccessToken(token) => TokenSource::Fixed(token),
            AuthMethod::DeviceCode { .. } => {
                return Err(AzcmError::new(
                    ErrorCode::UNKNOWN,
                    "device code sign-in goes through Tokens::login",
                ));
            }
            AuthMethod::AzureCli { tenant_id } => {
                let options = AzureCliCredentialOptions {
                    tenant_id,
                    ..Default::default()
                };
                TokenSource::AzureCli(AzureCliCredential::new(Some(options)).map_err(invalid)?)
            }
            AuthMethod::ServicePrincipalSecret {
                tenant_id,
                client_id,
                secret,
            } => {
                let options = ClientSecretCredentialOptions {
                    client_options: client_options(cloud, http),
                };
                TokenSource::Credential(
                    ClientSecretCredential::new(&tenant_id, client_id, secret, Some(options))
                        .map_err(invalid)?,
                )
            }
            AuthMethod::ServicePrincipalCertificate {
                tenant_id,
                client_id,
                certificate,
            } => {
                let assertion = CertificateAssertion {
                    audience: format!(
                        "{}/{tenant_id}/oauth2/v2.0/token",
                        cloud.authority.trim_end_matches('/')
                    ),
                    client_id: client_id.clone(),
                    certificate: Arc::from(certificate),
                };
                let options = ClientAssertionCredentialOptions {
                    client_options: client_options(cloud, http),
                };
                TokenSource::Credential(
                    ClientAssertionCredential::new(tenant_id, client_id, assertion, Some(options))
                        .map_err(invalid)?,
                )
            }
        };
        Ok(Self {
            source,
            scope,
            budget,
            deadline: Instant::now() + budget,
        })
    }

    /// Signs in with any method and checks a token can be had: the device code flow runs here
    /// (showing its prompt through `report`); the others fetch their first token.
    pub async fn login(
        method: AuthMethod,
        cloud: &Cloud,
        http: &reqwest::Client,
        report: &dyn Reporter,
        budget: Duration,
    ) -> Result<Self> {
        let scope = format!("{}/.default", cloud.audience.trim_end_matches('/'));
        if let AuthMethod::DeviceCode { tenant_id } = &method {
            let tenant = tenant_id.as_deref().unwrap_or("organizations");
            let token = device_code_login(cloud, http, tenant, &scope, report).await?;
            return Ok(Self {
                source: TokenSource::Fixed(Secret::new(token)),
                scope,
                budget,
                deadline: Instant::now() + budget,
            });
        }
        let tokens = Self::new(method, cloud, http, budget)?;
        tokens.get().await?;
        Ok(tokens)
    }

    /// A token for ARM (cached by the credential until it nears expiry), within the budget.
    pub async fn get(&self) -> Result<String> {
        if let TokenSource::Fixed(token) = &self.source {
            return Ok(token.secret().to_string());
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.fetch()).await {
            Ok(token) => token,
            Err(_) => Err(AzcmError::new(
                ErrorCode::NETWORK,
                format!(
                    "Entra ID gave no token within the retry budget ({} s, --retry-timeout)",
                    self.budget.as_secs()
                ),
            )
            .with_detail("retryTimeoutSeconds", self.budget.as_secs())),
        }
    }

    async fn fetch(&self) -> Result<String> {
        match &self.source {
            TokenSource::Fixed(token) => Ok(token.secret().to_string()),
            TokenSource::Credential(credential) => credential
                .get_token(&[self.scope.as_str()], None)
                .await
                .map(|t| t.token.secret().to_string())
                .map_err(credential_error),
            TokenSource::AzureCli(credential) => credential
                .get_token(&[self.scope.as_str()], None)
                .await
                .map(|t| t.token.secret().to_string())
                .map_err(|e| {
                    AzcmError::new(
                        ErrorCode::INVALID_CREDENTIALS,
                        format!("the Azure CLI gave no token: {}", first_line(&e.to_string())),
                    )
                    .with_remediation("Install the Azure CLI and sign in with `az login` (with --tenant for another tenant), then run the command again.")
                }),
        }
    }

    /// Whether a new token can be had when ARM rejects this one as expired.
    pub fn can_refresh(&self) -> bool {
        matches!(
            self.source,
            TokenSource::Credential(_) | TokenSource::AzureCli(_)
        )
    }
}

/// A service principal's certificate with its private key (RSA): from a PEM file holding both
/// or an unencrypted PKCS #12 (.pfx) file, as azcmagent accepts them, or from the Windows
/// certificate store by thumbprint, where the key stays and signs.
pub struct ClientCertificate {
    key: PrivateKey,
    der: Vec<u8>,
}

enum PrivateKey {
    File(Box<RsaKey>),
    Store(crate::platform::StoreCertificate),
}

fn cert_error(path: &Path, why: impl std::fmt::Display) -> AzcmError {
    AzcmError::invalid_argument(format!(
        "cannot use the certificate {}: {why}",
        path.display()
    ))
    .with_detail("path", path.display().to_string())
}

fn store_error(thumbprint: &str, why: impl std::fmt::Display) -> AzcmError {
    AzcmError::invalid_argument(format!(
        "cannot use the certificate with thumbprint {thumbprint}: {why}"
    ))
    .with_detail("thumbprint", thumbprint)
}

/// A SHA-1 thumbprint as admins paste it: hex in any case, with spaces or colons, and the
/// invisible marks a copy from the certificate dialog carries.
pub fn parse_thumbprint(text: &str) -> Result<[u8; 20]> {
    let hex: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ':' | '\u{200e}' | '\u{200f}' | '\u{feff}'))
        .collect();
    let invalid = || {
        AzcmError::invalid_argument(format!(
            "--service-principal-cert-thumbprint: {text:?} is not a certificate thumbprint (40 hexadecimal digits, the certificate's SHA-1 hash)"
        ))
    };
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let mut bytes = [0u8; 20];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
    }
    Ok(bytes)
}

/// A thumbprint as Windows and the portal show it: upper-case hex.
fn thumbprint_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The RSA public key of a certificate. Read from the key's own bits (PKCS #1), so a
/// certificate whose algorithm identifier leaves out the NULL parameters still works.
fn certificate_public_key(der: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use x509_cert::der::Decode;
    /// rsaEncryption (RFC 8017, appendix C).
    const RSA_ENCRYPTION: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let cert =
        x509_cert::Certificate::from_der(der).map_err(|e| format!("invalid certificate: {e}"))?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err("the certificate's key is not RSA".into());
    }
    Ok(spki.subject_public_key.raw_bytes().to_vec())
}

impl ClientCertificate {
    /// The certificate with this thumbprint from the Windows certificate store. Its key must
    /// sign (a probe signature is checked against the certificate) before anything is sent.
    pub fn from_store(thumbprint: &str) -> Result<Self> {
        let bytes = parse_thumbprint(thumbprint)?;
        let shown = thumbprint_text(&bytes);
        let stores = crate::platform::certificate_stores();
        let found = crate::platform::find_store_certificate(&bytes).map_err(|e| {
            if e.kind() == std::io::ErrorKind::Unsupported {
                AzcmError::invalid_argument(
                    "--service-principal-cert-thumbprint reads the Windows certificate store, which this platform does not have; pass the certificate and its key in a file with --service-principal-cert",
                )
            } else {
                store_error(&shown, e)
            }
        })?;
        let Some(found) = found else {
            return Err(store_error(
                &shown,
                format!("no certificate with this thumbprint in {}", stores.join(" or ")),
            )
            .with_remediation("Import the certificate with its private key into the machine's personal store (Import-PfxCertificate -CertStoreLocation Cert:\\LocalMachine\\My), or check the thumbprint with Get-ChildItem Cert:\\LocalMachine\\My."));
        };
        let public = certificate_public_key(&found.der).map_err(|e| store_error(&shown, e))?;
        use sha2::Digest as _;
        let probe = crate::ids::new_guid();
        let digest: [u8; 32] = sha2::Sha256::digest(probe.as_bytes()).into();
        let signature = found.sign_sha256(&digest).map_err(|e| {
            store_error(
                &shown,
                format!("its private key in {} cannot sign: {e}", found.store),
            )
        })?;
        if !crate::keys::verify_sha256(&public, probe.as_bytes(), &signature) {
            return Err(store_error(
                &shown,
                format!(
                    "the private key in {} does not belong to the certificate",
                    found.store
                ),
            ));
        }
        Ok(Self {
            der: found.der.clone(),
            key: PrivateKey::Store(found),
        })
    }

    /// The store the certificate came from, if it came from one.
    pub fn store(&self) -> Option<&'static str> {
        match &self.key {
            PrivateKey::Store(found) => Some(found.store),
            PrivateKey::File(_) => None,
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::files::read_input(path, crate::files::MAX_CERTIFICATE)
            .map_err(|e| cert_error(path, e))?;
        Self::from_bytes(path, &bytes)
    }

    /// A certificate with its key from a file's bytes (PEM, or an unencrypted PFX); `path`
    /// names the file in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        let (key, der) = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            let blocks = pem::parse_many(bytes).map_err(|e| cert_error(path, e))?;
            let cert = blocks
                .iter()
                .find(|b| b.tag() == "CERTIFICATE")
                .ok_or_else(|| cert_error(path, "no CERTIFICATE block"))?;
            let key = if let Some(b) = blocks.iter().find(|b| b.tag() == "PRIVATE KEY") {
                RsaKey::from_pkcs8_der(b.contents()).map_err(|e| cert_error(path, e))?
            } else if let Some(b) = blocks.iter().find(|b| b.tag() == "RSA PRIVATE KEY") {
                RsaKey::from_pkcs1_der(b.contents()).map_err(|e| cert_error(path, e))?
            } else if blocks.iter().any(|b| b.tag() == "ENCRYPTED PRIVATE KEY") {
                return Err(cert_error(
                    path,
                    "encrypted private keys are not supported (as with azcmagent)",
                ));
            } else {
                return Err(cert_error(path, "the file holds no private key"));
            };
            (key, cert.contents().to_vec())
        } else {
            let store = p12_keystore::KeyStore::from_pkcs12(bytes, "", p12_keystore::Pkcs12ImportPolicy::Relaxed).map_err(|e| {
                cert_error(
                    path,
                    format!("not an unencrypted PKCS #12 file ({e}); password-protected PFX files are not supported, as with azcmagent"),
                )
            })?;
            let chain = store
                .entries()
                .find_map(|(_, entry)| match entry {
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => Some(chain.clone()),
                    _ => None,
                })
                .ok_or_else(|| cert_error(path, "the PFX file holds no private key"))?;
            let cert = chain
                .certs()
                .first()
                .ok_or_else(|| cert_error(path, "the PFX file holds no certificate"))?;
            let key =
                RsaKey::from_pkcs8_der(chain.key().as_der()).map_err(|e| cert_error(path, e))?;
            (key, cert.as_der().to_vec())
        };
        Self::check_pair(path, &key, &der)?;
        Ok(Self {
            key: PrivateKey::File(Box::new(key)),
            der,
        })
    }

    /// The certificate must be the one of this key: Entra would reject the signature anyway,
    /// but a local error names the file.
    fn check_pair(path: &Path, key: &RsaKey, der: &[u8]) -> Result<()> {
        let public = certificate_public_key(der).map_err(|e| cert_error(path, e))?;
        // Both DER RSAPublicKey, whose encoding is canonical: equal keys, equal bytes.
        if public != key.public_pkcs1_der() {
            return Err(cert_error(
                path,
                "the private key does not belong to the certificate",
            ));
        }
        Ok(())
    }

    /// SHA-1 thumbprint in hex, as Windows and the portal show it.
    pub fn thumbprint(&self) -> String {
        use sha1::Digest;
        thumbprint_text(&sha1::Sha1::digest(&self.der))
    }

    /// A signed client assertion (RS256 JWT) for a token endpoint, valid for ten minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> std::io::Result<String> {
        use sha1::Digest as _;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&self.der)),
            "x5t#S256": URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&self.der)),
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": crate::ids::new_guid(),
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.key {
            PrivateKey::File(key) => key.sign_sha256(input.as_bytes())?,
            PrivateKey::Store(found) => {
                found.sign_sha256(&sha2::Sha256::digest(input.as_bytes()).into())?
            }
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

struct CertificateAssertion {
    audience: String,
    client_id: String,
    certificate: Arc<ClientCertificate>,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("thumbprint", &self.certificate.thumbprint())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.certificate
            .assertion(&self.client_id, &self.audience)
            .map_err(|e| {
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    format!(
                        "the certificate's private key could not sign the client assertion: {e}"
                    ),
                )
            })
    }
}

/// The public client users sign in with: Azure CLI's well-known client id (first-party, allowed
/// in every tenant for ARM).
pub const DEVICE_CODE_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What a person does after a failed device-code sign-in (not the service-principal advice of
/// AZCM0041's generic remediation).
const DEVICE_CODE_REMEDIATION: &str = "Run the command again, open the address it shows in a browser within the time given, enter the code and sign in with an account of the tenant that may onboard machines in the subscription (Azure Connected Machine Onboarding role); where nobody can sign in interactively, use a service principal (--service-principal-id with a secret or certificate).";
/// Seconds between device-code polls, whatever Entra ID's `interval` says.
const MIN_DEVICE_POLL: u64 = 1;
const MAX_DEVICE_POLL: u64 = 60;
/// The longest a device code is waited for, whatever Entra ID's `expires_in` says.
const MAX_DEVICE_CODE_LIFETIME: u64 = 3600;

fn entra_failure(body: &serde_json::Value, what: &str) -> AzcmError {
    let description = body["error_description"]
        .as_str()
        .unwrap_or("")
        .split(" Trace ID:")
        .next()
        .unwrap_or("")
        .trim();
    let error = body["error"].as_str().unwrap_or("unknown_error");
    let mut err = AzcmError::new(
        ErrorCode::INVALID_CREDENTIALS,
        format!("{what}: {error}: {description}"),
    )
    .with_detail("entraError", error);
    if let Some(code) = description
        .split(':')
        .next()
        .filter(|c| c.starts_with("AADSTS"))
    {
        err = err.with_detail("aadsts", code);
    }
    err
}

/// The poll interval and the code's lifetime from Entra ID's device-code answer, clamped
/// (docs/limits.md): a poll every 1–60 s, a code waited for at most an hour, whatever (or
/// however large, or however written) the answer says.
fn device_code_timing(body: &serde_json::Value) -> (Duration, Duration) {
    let seconds = |v: &serde_json::Value, default: u64| match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f > 0.0).map(|_| u64::MAX))
            .unwrap_or(0),
        serde_json::Value::String(s) => s.trim().parse::<u64>().unwrap_or(default),
        _ => default,
    };
    let interval = seconds(&body["interval"], 5).clamp(MIN_DEVICE_POLL, MAX_DEVICE_POLL);
    let lifetime = seconds(&body["expires_in"], 900).min(MAX_DEVICE_CODE_LIFETIME);
    (Duration::from_secs(interval), Duration::from_secs(lifetime))
}

/// The OAuth 2.0 device authorization grant (RFC 8628) against Entra ID: ask for a code, show
/// the user where to enter it, poll at the interval the server asks for (slower after
/// `slow_down`), until sign-in, decline or expiry.
async fn device_code_login(
    cloud: &Cloud,
    http: &reqwest::Client,
    tenant: &str,
    scope: &str,
    report: &dyn Reporter,
) -> Result<String> {
    let base = cloud.authority.trim_end_matches('/');
    let network = |e: reqwest::Error| {
        AzcmError::new(
            ErrorCode::NETWORK,
            format!("cannot reach Entra ID: {}", crate::http::error_chain(&e)),
        )
    };
    let start = http
        .post(format!("{base}/{tenant}/oauth2/v2.0/devicecode"))
        .form(&[("client_id", DEVICE_CODE_CLIENT_ID), ("scope", scope)])
        .send()
        .await
        .map_err(network)?;
    let ok = start.status().is_success();
    let body = crate::http::read_json(start, crate::http::MAX_ENTRA_BODY)
        .await
        .map_err(|e| {
            AzcmError::new(
                ErrorCode::NETWORK,
                format!("Entra ID's device code answer: {e}"),
            )
        })?;
    if !ok {
        return Err(
            entra_failure(&body, "Entra ID refused to start a device code sign-in")
                .with_remediation(DEVICE_CODE_REMEDIATION),
        );
    }
    let device_code = body["device_code"].as_str().unwrap_or("").to_string();
    let message = body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "To sign in, open {} and enter the code {}",
                body["verification_uri"].as_str().unwrap_or(""),
                body["user_code"].as_str().unwrap_or("")
            )
        });
    let (mut interval, lifetime) = device_code_timing(&body);
    let deadline = Instant::now() + lifetime;
    report.info(&message);
    loop {
        if Instant::now() + interval > deadline {
            return Err(AzcmError::new(
                ErrorCode::INVALID_CREDENTIALS,
                "the device code expired before anyone signed in with it",
            )
            .with_detail("entraError", "expired_token")
            .with_remediation(
                "Run the command again and complete the sign-in within the time shown.",
            ));
        }
        report.progress("Device code sign-in", "waiting for the sign-in", None);
        tokio::time::sleep(interval).await;
        let poll = http
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", DEVICE_CODE_GRANT),
                ("client_id", DEVICE_CODE_CLIENT_ID),
                ("device_code", device_code.as_str()),
            ])
            .send()
            .await;
        let Ok(response) = poll else { continue };
        let status = response.status();
        let Ok(body) = crate::http::read_json(response, crate::http::MAX_ENTRA_BODY).await else {
            continue;
        };
        if status.is_success() {
            return body["access_token"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| {
                    AzcmError::new(
                        ErrorCode::INVALID_CREDENTIALS,
                        "Entra ID answered the sign-in without a token",
                    )
                });
        }
        if status.is_server_error() || status.as_u16() == 429 {
            continue;
        }
        match body["error"].as_str().unwrap_or("") {
            "authorization_pending" => {}
            "slow_down" => {
                interval =
                    (interval + Duration::from_secs(5)).min(Duration::from_secs(MAX_DEVICE_POLL));
            }
            "authorization_declined" => {
                return Err(entra_failure(&body, "the sign-in was declined")
                    .with_remediation(DEVICE_CODE_REMEDIATION));
            }
            "expired_token" => {
                return Err(entra_failure(
                    &body,
                    "the device code expired before anyone signed in with it",
                )
                .with_remediation(DEVICE_CODE_REMEDIATION));
            }
            _ => {
                return Err(entra_failure(&body, "the device code sign-in failed")
                    .with_remediation(DEVICE_CODE_REMEDIATION))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{device_code_timing, parse_thumbprint};
    use std::time::Duration;

    #[test]
    fn device_code_numbers_from_a_hostile_server_are_clamped() {
        let timing = |body: serde_json::Value| device_code_timing(&body);
        let huge = serde_json::json!({"interval": u64::MAX, "expires_in": u64::MAX});
        assert_eq!(
            timing(huge),
            (Duration::from_secs(60), Duration::from_secs(3600))
        );
        let beyond =
            serde_json::from_str("{\"interval\": 1e300, \"expires_in\": 99999999999999999999999}")
                .unwrap();
        assert_eq!(
            timing(beyond),
            (Duration::from_secs(60), Duration::from_secs(3600))
        );
        let zero = serde_json::json!({"interval": 0, "expires_in": -5});
        assert_eq!(
            timing(zero),
            (Duration::from_secs(1), Duration::from_secs(0))
        );
        let text = serde_json::json!({"interval": "7", "expires_in": "600"});
        assert_eq!(
            timing(text),
            (Duration::from_secs(7), Duration::from_secs(600))
        );
        assert_eq!(
            timing(serde_json::json!({})),
            (Duration::from_secs(5), Duration::from_secs(900))
        );
    }

    #[test]
    fn thumbprints_are_read_as_admins_paste_them() {
        let expected: [u8; 20] = [
            0x3b, 0x1e, 0xfd, 0x3a, 0x66, 0xea, 0x28, 0xb1, 0x66, 0x97, 0x39, 0x47, 0x03, 0xa7,
            0x2c, 0xa3, 0x40, 0xa0, 0x5b, 0xd5,
        ];
        for text in [
            "3B1EFD3A66EA28B16697394703A72CA340A05BD5",
            "3b1efd3a66ea28b16697394703a72ca340a05bd5",
            "\u{200e}3b 1e fd 3a 66 ea 28 b1 66 97 39 47 03 a7 2c a3 40 a0 5b d5",
            "3B:1E:FD:3A:66:EA:28:B1:66:97:39:47:03:A7:2C:A3:40:A0:5B:D5\n",
        ] {
            assert_eq!(parse_thumbprint(text).unwrap(), expected, "{text:?}");
        }
        for bad in [
            "",
            "3B1EFD3A66EA28B16697394703A72CA340A05BD",
            "3B1EFD3A66EA28B16697394703A72CA340A05BD5AA",
            "3B1EFD3A66EA28B16697394703A72CA340A05BDZ",
            "é3B1EFD3A66EA28B16697394703A72CA340A05B",
        ] {
            assert_eq!(
                parse_thumbprint(bad).unwrap_err().code.number(),
                23,
                "{bad:?}"
            );
        }
    }
}
