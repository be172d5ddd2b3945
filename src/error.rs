//! AZCM error codes and the one error type every failure ends in.
//!
//! The codes, their meaning and the exit code (= the number) follow azcmagent's documented
//! table; docs/errors.md is generated from [`ErrorCode::ALL`] and checked by a test.

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// One AZCM code of azcmagent's table (a one-byte handle; the text lives in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(u8);

struct CodeText {
    name: &'static str,
    cause: &'static str,
    remediation: &'static str,
}

macro_rules! codes {
    ($( $ident:ident = $num:literal, $name:literal, $cause:literal, $fix:literal; )*) => {
        impl ErrorCode {
            $( pub const $ident: ErrorCode = ErrorCode($num); )*
            /// Every code azcm can return, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$ident, )* ];

            fn text(self) -> CodeText {
                match self.0 {
                    $( $num => CodeText { name: $name, cause: $cause, remediation: $fix }, )*
                    _ => unreachable!("ErrorCode values only come from the table"),
                }
            }
        }
    };
}

codes! {
    UNKNOWN = 1, "Unknown", "An unknown error occurred.",
        "Run the command again with --verbose and report the output to the azcm maintainers.";
    CANCELLED = 11, "Cancelled", "The user cancelled the action (Ctrl+C).",
        "Run the previous command again.";
    INVALID_ACCESS_TOKEN = 12, "InvalidAccessToken", "The access token is invalid.",
        "Obtain a new access token and try again.";
    MISSING_PARAMETER = 16, "MissingMandatoryParameter", "A mandatory parameter is missing.",
        "Check which parameter the message names; run `azcm <command> --help` for the syntax.";
    NEEDS_ADMIN = 18, "NeedsAdministrator", "The command was run without administrative privileges.",
        "Run the command again elevated (Administrator on Windows, root on Linux), or set AZCM_ROOT to a folder you own to work on a private state root.";
    CONFIG_FILE = 19, "ConfigFile", "The configuration file given with --config cannot be used.",
        "Check that the --config path exists and holds a JSON or YAML map of long flag names to values.";
    UNKNOWN_REGION = 20, "UnknownRegion", "The region (location) is not known to the cloud.",
        "Use one of the cloud's region names, e.g. `westeurope`; spaces and case do not matter.";
    INVALID_ARGUMENT = 23, "InvalidArgument", "A value given for a parameter (argument) is invalid.",
        "Check the message for the exact rule; run `azcm <command> --help` for valid values and formats.";
    NETWORK = 26, "NetworkError", "The network configuration is wrong or a required service is temporarily unavailable.",
        "Run `azcm check` to see which endpoint fails and why. With Private Link, pass --private-link-scope.";
    CONFIG_CONFLICT = 27, "ConfigurationConflict", "The requested configuration conflicts with the current one.",
        "Read the message for the conflicting setting and change that first (e.g. `azcm config set config.mode full`).";
    INVALID_CREDENTIALS = 41, "InvalidCredentials", "The credentials supplied are invalid.",
        "Check the service principal id, secret or certificate and its expiry, and that it belongs to the tenant given with --tenant-id.";
    RESOURCE_CREATION = 42, "ResourceCreationFailed", "Creating the Azure Arc-enabled server resource failed.",
        "Read the ARM error in the message; check the Azure Connected Machine Onboarding role on the resource group.";
    RESOURCE_DELETION = 43, "ResourceDeletionFailed", "Deleting the Azure Arc-enabled server resource failed.",
        "Check delete permissions on the resource; if the resource no longer exists, run `azcm disconnect --force-local-only`.";
    RESOURCE_EXISTS = 44, "ResourceExists", "A resource with the same name already exists.",
        "Choose another --resource-name or delete the existing Azure Arc-enabled server first.";
    CONNECT_FAILED = 62, "ConnectFailed", "An error occurred while connecting the server.",
        "Read the message; if the Azure resource was created, a re-run of the same connect converges.";
    DISCONNECT_FAILED = 63, "DisconnectFailed", "An error occurred while disconnecting the server.",
        "Read the message; if it persists, delete the resource in Azure and run `azcm disconnect --force-local-only`.";
    ALREADY_CONNECTED = 67, "AlreadyConnected", "The machine is already connected to Azure.",
        "Run `azcm disconnect` to remove the current connection, then try again.";
    SUBSCRIPTION_LOOKUP = 68, "SubscriptionLookupFailed", "The subscription was not found, or the credentials cannot see it.",
        "Check --subscription-id (the subscription id, or its exact display name) and that the signed-in principal has access to that subscription.";
    LOCAL_CONFIG_UPDATE = 69, "LocalConfigUpdateFailed", "The local configuration could not be updated.",
        "Check that the agent's configuration folder is writable by this user and not locked by another process, then try again.";
    LOCAL_CONFIG_READ = 70, "LocalConfigReadFailed", "The local configuration could not be read.",
        "Check the file named in the message: run elevated if access is denied; if it is corrupt, fix or delete it and set the values again.";
    PARSE_FAILED = 101, "ParseFailed", "The command was not parsed successfully.",
        "Run `azcm <command> --help` to review the syntax.";
    HOSTNAME = 102, "HostnameUnavailable", "The computer's host name could not be retrieved.",
        "Pass --resource-name with letters, digits, hyphens and underscores (not ending in a hyphen or underscore).";
    RSA_KEYS = 103, "RsaKeysFailed", "An error occurred while generating or storing RSA keys.",
        "Check that the agent's Certs folder is writable; run elevated; then try again.";
    LOGS_FAILED = 104, "LogCollectionFailed", "The log archive could not be written.",
        "Check that the output folder exists, is writable and has free space; give another one with --output.";
}

impl ErrorCode {
    pub fn number(self) -> u8 {
        self.0
    }

    /// Short name used in docs and as a stable identifier besides the code.
    pub fn name(self) -> &'static str {
        self.text().name
    }

    /// The probable cause, as azcmagent documents it.
    pub fn cause(self) -> &'static str {
        self.text().cause
    }

    /// The suggested remediation, shown with every error of this code.
    pub fn remediation(self) -> &'static str {
        self.text().remediation
    }

    /// `AZCM0023` style code.
    pub fn code(self) -> String {
        format!("AZCM{:04}", self.0)
    }

    /// Process exit code: the number itself (all numbers in the table are 0–125).
    pub fn exit_code(self) -> i32 {
        i32::from(self.0)
    }
}

/// The error every command returns. Carries an AZCM code, a sentence for humans, and
/// machine-readable details; converts to the JSON envelope's `error` object.
#[derive(Debug, Clone)]
pub struct AzcmError {
    pub code: ErrorCode,
    pub message: String,
    /// Overrides the code's generic remediation when the failure knows better.
    pub remediation: Option<String>,
    pub details: Box<Map<String, Value>>,
    /// What the command found before it failed, shown above the error in human output (the
    /// JSON document carries the same facts in `details`).
    pub view: Option<String>,
}

impl AzcmError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            remediation: None,
            details: Box::default(),
            view: None,
        }
    }

    /// Ctrl+C: the command stopped at its next step; what it had written is whole (every
    /// state write is atomic), what it had not started is not done.
    pub fn cancelled(what: &str) -> Self {
        Self::new(
            ErrorCode::CANCELLED,
            format!("cancelled with Ctrl+C while {what}; nothing is left half-written"),
        )
        .with_detail("reason", "interrupted")
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_ARGUMENT, message)
    }

    pub fn with_remediation(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = Some(remediation.into());
        self
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn with_view(mut self, view: impl Into<String>) -> Self {
        self.view = Some(view.into());
        self
    }

    pub fn remediation(&self) -> &str {
        self.remediation
            .as_deref()
            .unwrap_or(self.code.remediation())
    }

    pub fn exit_code(&self) -> i32 {
        self.code.exit_code()
    }

    /// The message as printed: at most [`MAX_MESSAGE`] characters, however large an input it
    /// quotes (a 120,000-character argument once came back whole, twice).
    pub fn shown_message(&self) -> std::borrow::Cow<'_, str> {
        excerpt_to(&self.message, MAX_MESSAGE)
    }

    pub fn to_json(&self) -> ErrorJson<'_> {
        ErrorJson {
            code: self.code.code(),
            name: self.code.name(),
            exit_code: self.exit_code(),
            message: self.shown_message(),
            remediation: self.remediation(),
            details: bounded_details(&self.details),
        }
    }
}

impl fmt::Display for AzcmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.message)
    }
}

impl std::error::Error for AzcmError {}

/// The `error` object of the JSON envelope (docs/json/envelope.schema.json).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorJson<'a> {
    pub code: String,
    pub name: &'static str,
    pub exit_code: i32,
    pub message: std::borrow::Cow<'a, str>,
    pub remediation: &'a str,
    pub details: Map<String, Value>,
}

/// The most characters of an error message, and of one text in its details, that azcm prints.
pub const MAX_MESSAGE: usize = 2000;
pub const MAX_DETAIL_TEXT: usize = 1000;

/// Details with every text cut to [`MAX_DETAIL_TEXT`] characters (in lists and maps too).
fn bounded_details(details: &Map<String, Value>) -> Map<String, Value> {
    fn bound(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(excerpt_to(s, MAX_DETAIL_TEXT).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(bound).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), bound(v))).collect())
            }
            other => other.clone(),
        }
    }
    details.iter().map(|(k, v)| (k.clone(), bound(v))).collect()
}

pub type Result<T, E = AzcmError> = std::result::Result<T, E>;

/// A user's input as an error message quotes it: at most 200 characters, so a huge argument
/// cannot make a huge message.
pub fn excerpt(text: &str) -> String {
    excerpt_to(text, 200).into_owned()
}

/// `text` cut to `max` characters, with `… (N more characters)` where it was cut.
pub fn excerpt_to(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} more characters)",
            &text[..end],
            text[end..].chars().count()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_valid_exit_codes() {
        let mut last = 0;
        for code in ErrorCode::ALL {
            assert!(
                code.number() > last,
                "{} out of order or duplicated",
                code.code()
            );
            assert!(
                code.exit_code() <= 125,
                "{} is not a usable exit code",
                code.code()
            );
            last = code.number();
        }
    }

    #[test]
    fn code_formatting() {
        assert_eq!(ErrorCode::INVALID_ARGUMENT.code(), "AZCM0023");
        assert_eq!(ErrorCode::RSA_KEYS.code(), "AZCM0103");
        assert_eq!(ErrorCode::RSA_KEYS.exit_code(), 103);
    }
}
