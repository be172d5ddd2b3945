//! Where ARM access tokens come from: a service principal with a secret (azure_identity's
//! client-secret credential, over azcm's own HTTP client), or an access token the caller
//! already has. Secrets live in [`Secret`]s and never reach output, logs or errors.

use crate::cloud::Cloud;
use crate::error::{AzcmError, ErrorCode, Result};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use std::fmt;
use std::sync::Arc;

/// How `connect`/`disconnect` authenticate.
pub enum AuthMethod {
    ServicePrincipalSecret {
        tenant_id: String,
        client_id: String,
        secret: Secret,
    },
    AccessToken(Secret),
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
            AuthMethod::AccessToken(_) => f.write_str("AccessToken(..)"),
        }
    }
}

impl AuthMethod {
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::ServicePrincipalSecret { .. } => "servicePrincipalSecret",
            AuthMethod::AccessToken(_) => "accessToken",
        }
    }
}

enum Source {
    Credential(Arc<dyn TokenCredential>),
    Fixed(Secret),
}

/// Hands out ARM access tokens for one cloud.
pub struct Tokens {
    source: Source,
    scope: String,
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
    AzcmError::new(
        ErrorCode::NETWORK,
        format!("cannot get a token from Entra ID: {}", first_line(&text)),
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

impl Tokens {
    pub fn new(method: AuthMethod, cloud: &Cloud, http: &reqwest::Client) -> Result<Self> {
        let scope = format!("{}/.default", cloud.audience.trim_end_matches('/'));
        let source = match method {
            AuthMethod::AccessToken(token) => Source::Fixed(token),
            AuthMethod::ServicePrincipalSecret {
                tenant_id,
                client_id,
                secret,
            } => {
                let mut custom = CustomConfiguration::default();
                custom.authority_host = cloud.authority.clone();
                let client_options = ClientOptions {
                    transport: Some(Transport::new(Arc::new(http.clone()))),
                    cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
                    ..Default::default()
                };
                let credential = ClientSecretCredential::new(
                    &tenant_id,
                    client_id,
                    secret,
                    Some(ClientSecretCredentialOptions { client_options }),
                )
                .map_err(|e| {
                    AzcmError::invalid_argument(format!(
                        "invalid service principal settings: {}",
                        first_line(&e.to_string())
                    ))
                })?;
                Source::Credential(credential)
            }
        };
        Ok(Self { source, scope })
    }

    /// A token for ARM (cached by the credential until it nears expiry).
    pub async fn get(&self) -> Result<String> {
        match &self.source {
            Source::Fixed(token) => Ok(token.secret().to_string()),
            Source::Credential(credential) => credential
                .get_token(&[self.scope.as_str()], None)
                .await
                .map(|t| t.token.secret().to_string())
                .map_err(credential_error),
        }
    }

    /// Whether a new token can be had when ARM rejects this one as expired.
    pub fn can_refresh(&self) -> bool {
        matches!(self.source, Source::Credential(_))
    }
}
