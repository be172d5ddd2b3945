//! The sign-in method the flags name, resolved once: exactly one of a service principal (secret
//! or certificate), an access token, a device code or the Azure CLI, with its secret read from
//! the flag, stdin (`-`) or the environment. The values `--config` supplies arrive as flags.

use super::{AuthMethod, ClientCertificate};
use crate::cli::AuthArgs;
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::ids;
use azure_core::credentials::Secret;
use serde_json::Value;

/// Environment variables a secret may come from instead of the command line.
pub const SECRET_ENV: &str = "AZCM_SERVICE_PRINCIPAL_SECRET";
pub const TOKEN_ENV: &str = "AZCM_ACCESS_TOKEN";

/// One line from stdin, at most `max` bytes (its line end included), as text. Ctrl+C while
/// it waits ends the read (std's own line reader would retry and keep waiting).
fn read_line(max: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut stdin = std::io::stdin().lock();
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while (bytes.len() as u64) < max {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                bytes.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                if crate::platform::interrupted() {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// A secret from its flag (`-` = stdin), else from its environment variable. A secret typed on
/// the command line works, as with azcmagent, but warns: other processes can read it there.
fn secret(ctx: &Context<'_>, flag: &str, value: Option<&str>, env: &str) -> Result<Option<Secret>> {
    let text = match value {
        Some("-") => {
            let max = crate::files::MAX_SECRET;
            // A person at a terminal is asked, and what they type is not shown (as
            // Get-Credential and `read -s` do); a pipe is read as it is.
            let hidden = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                ctx.report
                    .prompt(&format!("Enter the value of --{flag} (it is not shown): "));
                Some(crate::platform::hide_input().map_err(|e| {
                    AzcmError::invalid_argument(format!(
                        "cannot hide --{flag} while it is typed: {e}"
                    ))
                })?)
            } else {
                None
            };
            let line = read_line(max + 1).map_err(|e| {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    AzcmError::cancelled(&format!("reading --{flag}"))
                } else {
                    AzcmError::invalid_argument(format!("cannot read --{flag} from stdin: {e}"))
                }
            })?;
            if hidden.is_some() {
                drop(hidden);
                ctx.report.prompt("\n");
            }
            if line.len() as u64 > max {
                return Err(AzcmError::invalid_argument(format!(
                    "--{flag} -: the line on stdin is longer than {}, more than any secret or token",
                    crate::files::size_text(max)
                )));
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            if line.is_empty() {
                return Err(AzcmError::new(
                    ErrorCode::MISSING_PARAMETER,
                    format!("--{flag} - read nothing from stdin"),
                ));
            }
            line
        }
        Some(v) => {
            if ctx.given_on_command_line(flag) {
                ctx.report.warning(&format!(
                    "--{flag} on the command line can be read by other processes and may be kept in shell history; pass - and the value on stdin, set {env}, or use --config"
                ));
            }
            v.to_string()
        }
        None => match std::env::var(env) {
            Ok(v) if !v.is_empty() => v,
            _ => return Ok(None),
        },
    };
    Ok(Some(Secret::new(text)))
}

/// The one authentication method the arguments name.
pub fn method_from_flags(ctx: &Context<'_>, args: &AuthArgs) -> Result<AuthMethod> {
    SignIn {
        service_principal_id: args.service_principal_id.clone(),
        service_principal_secret: secret(
            ctx,
            "service-principal-secret",
            args.service_principal_secret.as_deref(),
            SECRET_ENV,
        )?,
        service_principal_cert: args.service_principal_cert.clone(),
        service_principal_cert_thumbprint: args.service_principal_cert_thumbprint.clone(),
        access_token: secret(ctx, "access-token", args.access_token.as_deref(), TOKEN_ENV)?,
        use_device_code: args.use_device_code,
        use_azcli: args.use_azcli,
        tenant_id: args.tenant_id.clone(),
        user_tenant_id: args.user_tenant_id.clone(),
    }
    .method(ctx)
}

/// A sign-in as a face names it (connect's flags, a DSC document), its secrets already read:
/// [`SignIn::method`] checks it into exactly one [`AuthMethod`]. Messages name the flags, the
/// vocabulary every face documents beside its own.
#[derive(Default)]
pub struct SignIn {
    pub service_principal_id: Option<String>,
    pub service_principal_secret: Option<Secret>,
    pub service_principal_cert: Option<std::path::PathBuf>,
    pub service_principal_cert_thumbprint: Option<String>,
    pub access_token: Option<Secret>,
    pub use_device_code: bool,
    pub use_azcli: bool,
    pub tenant_id: Option<String>,
    pub user_tenant_id: Option<String>,
}

impl SignIn {
    /// The one authentication method this names.
    pub fn method(self, ctx: &Context<'_>) -> Result<AuthMethod> {
        let SignIn {
            service_principal_id,
            service_principal_secret: sp_secret,
            service_principal_cert,
            service_principal_cert_thumbprint,
            access_token: token,
            use_device_code,
            use_azcli,
            tenant_id,
            user_tenant_id,
        } = self;
        let has_certificate =
            service_principal_cert.is_some() || service_principal_cert_thumbprint.is_some();
        if let Some(token) = &token {
            // A token goes into an HTTP header: one with white space or a control character can
            // never be sent, so it is refused now rather than failing every try.
            if token
                .secret()
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(AzcmError::new(
                    ErrorCode::INVALID_ACCESS_TOKEN,
                    "the access token holds a space, line break or control character; an access token is one word",
                )
                .with_remediation("Pass the token exactly as `az account get-access-token --query accessToken -o tsv` prints it, on one line."));
            }
        }
        if let Some(tenant) = &tenant_id {
            ids::require_guid("tenant-id", tenant)?;
        }
        if let Some(tenant) = &user_tenant_id {
            ids::require_guid("user-tenant-id", tenant)?;
        }
        // A person signs in to their own tenant when it differs from the subscription's.
        let sign_in_tenant = user_tenant_id.clone().or_else(|| tenant_id.clone());
        let tenant = || {
            tenant_id.clone().ok_or_else(|| {
                AzcmError::new(
                    ErrorCode::MISSING_PARAMETER,
                    "--tenant-id is required with a service principal",
                )
            })
        };
        let service_principal =
            service_principal_id.is_some() || sp_secret.is_some() || has_certificate;
        if use_azcli {
            if service_principal || token.is_some() || use_device_code {
                return Err(AzcmError::invalid_argument(
                    "--use-azcli cannot be combined with another sign-in method",
                ));
            }
            return Ok(AuthMethod::AzureCli {
                tenant_id: sign_in_tenant,
            });
        }
        if use_device_code {
            if service_principal || token.is_some() {
                return Err(AzcmError::invalid_argument(
                    "--use-device-code cannot be combined with a service principal or --access-token",
                ));
            }
            return Ok(AuthMethod::DeviceCode {
                tenant_id: sign_in_tenant,
            });
        }
        if !service_principal && token.is_none() && ctx.interactive() {
            ctx.report.verbose(
                "no credentials given: signing in with a device code, as azcmagent does interactively",
            );
            return Ok(AuthMethod::DeviceCode {
                tenant_id: sign_in_tenant,
            });
        }
        if user_tenant_id.is_some() {
            return Err(AzcmError::invalid_argument(
                "--user-tenant-id is for a person signing in (--use-device-code, --use-azcli); a service principal or token names its tenant with --tenant-id",
            ));
        }
        if service_principal_cert.is_some() && service_principal_cert_thumbprint.is_some() {
            return Err(AzcmError::invalid_argument(
                "use either --service-principal-cert or --service-principal-cert-thumbprint, not both",
            ));
        }
        let certificate = || -> Result<Box<ClientCertificate>> {
            let certificate = match &service_principal_cert {
                Some(path) => ClientCertificate::load(path)?,
                None => ClientCertificate::from_store(
                    service_principal_cert_thumbprint
                        .as_deref()
                        .unwrap_or_default(),
                )?,
            };
            ctx.report.verbose(&format!(
                "using the certificate with thumbprint {}{}",
                certificate.thumbprint(),
                certificate
                    .store()
                    .map(|s| format!(" from {s}"))
                    .unwrap_or_default()
            ));
            Ok(Box::new(certificate))
        };
        match (&service_principal_id, sp_secret, has_certificate, token) {
            (Some(_), _, _, Some(_)) => Err(AzcmError::invalid_argument("use either a service principal or --access-token, not both")),
            (Some(_), Some(_), true, None) => Err(AzcmError::invalid_argument(
                "use either --service-principal-secret or a certificate (--service-principal-cert, --service-principal-cert-thumbprint), not both",
            )),
            (Some(id), Some(secret), false, None) => {
                if id.trim().is_empty() {
                    return Err(AzcmError::invalid_argument("--service-principal-id is empty"));
                }
                Ok(AuthMethod::ServicePrincipalSecret { tenant_id: tenant()?, client_id: id.clone(), secret })
            }
            (Some(id), None, true, None) => {
                let tenant_id = tenant()?;
                Ok(AuthMethod::ServicePrincipalCertificate { tenant_id, client_id: id.clone(), certificate: certificate()? })
            }
            (Some(_), None, false, None) => Err(AzcmError::new(
                ErrorCode::MISSING_PARAMETER,
                format!("--service-principal-id needs --service-principal-secret (or {SECRET_ENV}), --service-principal-cert or --service-principal-cert-thumbprint"),
            )),
            (None, Some(_), _, _) | (None, None, true, _) => Err(AzcmError::new(
                ErrorCode::MISSING_PARAMETER,
                "--service-principal-secret, --service-principal-cert and --service-principal-cert-thumbprint need --service-principal-id",
            )),
            (None, None, false, Some(token)) => Ok(AuthMethod::AccessToken(token)),
            (None, None, false, None) => Err(AzcmError::new(
                ErrorCode::MISSING_PARAMETER,
                "no credentials: pass --service-principal-id with --service-principal-secret, --service-principal-cert or --service-principal-cert-thumbprint and --tenant-id, --access-token, or --use-device-code",
            )),
        }
    }
}

/// The tenant of an access token, read from its (unverified) claims.
pub fn token_tenant(token: &str) -> Option<String> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["tid"].as_str().map(str::to_string)
}

/// The tenant a sign-in is for, as far as it is known before Azure answers: the service
/// principal's, the person's (--user-tenant-id or --tenant-id), or an access token's `tid`.
pub fn tenant_hint(method: &AuthMethod, tenant_flag: Option<&str>) -> Option<String> {
    match method {
        AuthMethod::ServicePrincipalSecret { tenant_id, .. }
        | AuthMethod::ServicePrincipalCertificate { tenant_id, .. } => Some(tenant_id.clone()),
        AuthMethod::AccessToken(token) => tenant_flag
            .map(str::to_string)
            .or_else(|| token_tenant(token.secret())),
        AuthMethod::DeviceCode { tenant_id } | AuthMethod::AzureCli { tenant_id } => {
            tenant_id.clone()
        }
    }
}
