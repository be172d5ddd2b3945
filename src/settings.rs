//! The agent's local configuration properties (`azcm config`): their catalogue, value rules,
//! defaults, monitor-mode effects and conflict rules. Data first; the commands only ask.

use crate::cloud::BYPASS_CATEGORIES;
use crate::error::{AzcmError, ErrorCode, Result};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// How a property's value is written, checked and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// One of fixed words, stored in canonical case.
    Enum(&'static [&'static str]),
    /// Integer percentage 1–100.
    Percent,
    /// http(s) URL with host and port, no credentials.
    ProxyUrl,
    /// Comma list of ports or ranges (`22,6516,10000-10010`).
    PortList,
    /// Comma list of proxy bypass categories.
    BypassList,
    /// Comma list of `Publisher/Type`; `allow_none` admits the `Allow/None` special value.
    ExtensionList {
        allow_none: bool,
    },
}

impl Kind {
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Kind::PortList | Kind::BypassList | Kind::ExtensionList { .. }
        )
    }

    /// The type name shown by `config info` and in the JSON schema.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Enum(_) => "enum",
            Kind::Percent => "integer",
            Kind::ProxyUrl => "url",
            Kind::PortList | Kind::BypassList | Kind::ExtensionList { .. } => "list",
        }
    }
}

pub const CONNECTION_TYPES: &[&str] = &["direct", "gateway"];
pub const CONFIG_MODES: &[&str] = &["full", "monitor"];
pub const ALLOW_NONE: &str = "Allow/None";

/// The extensions monitor mode allows (a snapshot of Microsoft's managed list: monitoring and
/// security extensions only, nothing that runs arbitrary scripts or changes configuration).
pub const MONITOR_MODE_ALLOWLIST: &[&str] = &[
    "Microsoft.Azure.Monitor/AzureMonitorWindowsAgent",
    "Microsoft.Azure.Monitor/AzureMonitorLinuxAgent",
    "Microsoft.Azure.AzureDefenderForServers/MDE.Windows",
    "Microsoft.Azure.AzureDefenderForServers/MDE.Linux",
    "Microsoft.Azure.AzureDefenderForSQL/AdvancedThreatProtection.Windows",
    "Qualys/WindowsAgent.AzureSecurityCenter",
    "Qualys/LinuxAgent.AzureSecurityCenter",
    "Microsoft.Azure.Azure.Monitoring.DependencyAgent/DependencyAgentWindows",
    "Microsoft.Azure.Azure.Monitoring.DependencyAgent/DependencyAgentLinux",
    "Microsoft.Azure.ChangeTrackingAndInventory/ChangeTracking-Windows",
    "Microsoft.Azure.ChangeTrackingAndInventory/ChangeTracking-Linux",
];

#[derive(Debug)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub preview: bool,
    pub default: fn() -> Value,
    pub description: &'static str,
    pub example: &'static str,
}

impl Property {
    pub fn default_value(&self) -> Value {
        (self.default)()
    }

    /// Allowed values as listed by `config info` (fixed words, or the rule in words).
    pub fn allowed(&self) -> Value {
        match self.kind {
            Kind::Bool => json!(["true", "false"]),
            Kind::Enum(words) => json!(words),
            Kind::Percent => json!("an integer from 1 to 100"),
            Kind::ProxyUrl => {
                json!("an http:// or https:// URL with host and port, without credentials")
            }
            Kind::PortList => {
                json!("a comma-separated list of ports (1-65535) or port ranges (low-high)")
            }
            Kind::BypassList => json!(BYPASS_CATEGORIES),
            Kind::ExtensionList { allow_none: true } => {
                json!("a comma-separated list of Publisher/Type entries, or Allow/None to allow no extension")
            }
            Kind::ExtensionList { allow_none: false } => {
                json!("a comma-separated list of Publisher/Type entries")
            }
        }
    }
}

fn empty_list() -> Value {
    json!([])
}
fn yes() -> Value {
    json!(true)
}
fn empty_string() -> Value {
    json!("")
}
fn direct() -> Value {
    json!("direct")
}
fn full() -> Value {
    json!("full")
}
fn five() -> Value {
    json!(5)
}

/// Every property, in the order azcmagent lists them.
pub static PROPERTIES: &[Property] = &[
    Property {
        name: "incomingconnections.enabled",
        kind: Kind::Bool,
        preview: true,
        default: yes,
        description: "Whether the agent accepts incoming connections through the Azure Arc connectivity platform (SSH and Windows Admin Center for Arc-enabled servers).",
        example: "azcm config set incomingconnections.enabled false",
    },
    Property {
        name: "incomingconnections.ports",
        kind: Kind::PortList,
        preview: true,
        default: empty_list,
        description: "Local ports that remote connections through the Azure Arc connectivity platform may reach (e.g. 22 for SSH, 6516 for Windows Admin Center).",
        example: "azcm config set incomingconnections.ports 22,6516",
    },
    Property {
        name: "connection.type",
        kind: Kind::Enum(CONNECTION_TYPES),
        preview: true,
        default: direct,
        description: "How the agent reaches Azure: directly (or through proxy.url), or through an Azure Arc gateway.",
        example: "azcm config set connection.type gateway",
    },
    Property {
        name: "proxy.url",
        kind: Kind::ProxyUrl,
        preview: false,
        default: empty_string,
        description: "The HTTP(S) proxy the agent and its extensions use to reach Azure. Empty means no proxy.",
        example: "azcm config set proxy.url http://proxy.contoso.corp:8080",
    },
    Property {
        name: "proxy.bypass",
        kind: Kind::BypassList,
        preview: false,
        default: empty_list,
        description: "Service categories whose traffic bypasses proxy.url: AAD (Entra ID), ARM, Arc, ArcData (SQL Server enabled by Azure Arc), AMA (Azure Monitor Agent).",
        example: "azcm config set proxy.bypass AAD,ARM",
    },
    Property {
        name: "extensions.allowlist",
        kind: Kind::ExtensionList { allow_none: true },
        preview: false,
        default: empty_list,
        description: "Extensions that may be installed, updated or upgraded; when set, every other extension is blocked. Allow/None allows none. An extension in both lists is blocked. Removal is always allowed.",
        example: "azcm config set extensions.allowlist Microsoft.Azure.Monitor/AzureMonitorWindowsAgent --add",
    },
    Property {
        name: "extensions.blocklist",
        kind: Kind::ExtensionList { allow_none: false },
        preview: false,
        default: empty_list,
        description: "Extensions that may not be installed, updated or upgraded; all others are allowed unless an allowlist is set. Removal is always allowed.",
        example: "azcm config set extensions.blocklist Microsoft.Compute/CustomScriptExtension",
    },
    Property {
        name: "guestconfiguration.enabled",
        kind: Kind::Bool,
        preview: false,
        default: yes,
        description: "Whether the guest configuration (machine configuration) policy agent runs. Monitor mode turns it off.",
        example: "azcm config set guestconfiguration.enabled false",
    },
    Property {
        name: "extensions.enabled",
        kind: Kind::Bool,
        preview: false,
        default: yes,
        description: "Whether the extension manager runs. Turning it off does not remove installed extensions.",
        example: "azcm config set extensions.enabled false",
    },
    Property {
        name: "config.mode",
        kind: Kind::Enum(CONFIG_MODES),
        preview: false,
        default: full,
        description: "full allows all agent functionality. monitor applies Microsoft's monitoring-and-security extension allowlist, disables incoming connections and the guest configuration agent, and locks the extension lists.",
        example: "azcm config set config.mode monitor",
    },
    Property {
        name: "guestconfiguration.agent.cpulimit",
        kind: Kind::Percent,
        preview: false,
        default: five,
        description: "CPU limit of the machine configuration service, in percent of one core's time.",
        example: "azcm config set guestconfiguration.agent.cpulimit 20",
    },
    Property {
        name: "extensions.agent.cpulimit",
        kind: Kind::Percent,
        preview: false,
        default: five,
        description: "CPU limit of the extension manager, in percent of one core's time.",
        example: "azcm config set extensions.agent.cpulimit 80",
    },
];

pub fn names() -> Vec<&'static str> {
    PROPERTIES.iter().map(|p| p.name).collect()
}

/// Looks a property up by name, case-insensitively; unknown → AZCM0023 listing valid names.
pub fn find(name: &str) -> Result<&'static Property> {
    PROPERTIES
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            AzcmError::invalid_argument(format!(
                "unknown configuration property '{}'; valid properties: {}",
                crate::error::excerpt(name),
                names().join(", ")
            ))
            .with_detail("property", crate::error::excerpt(name))
            .with_detail("validProperties", names())
        })
}

fn invalid(prop: &Property, value: &str, why: impl std::fmt::Display) -> AzcmError {
    AzcmError::invalid_argument(format!("invalid value '{value}' for {}: {why}", prop.name))
        .with_detail("property", prop.name)
        .with_detail("value", value)
        .with_detail("allowed", prop.allowed())
}

/// Parses a value as typed on the command line into its stored JSON form.
pub fn parse(prop: &Property, raw: &str) -> Result<Value> {
    let value = raw.trim();
    match prop.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            _ => Err(invalid(prop, raw, "expected true or false")),
        },
        Kind::Enum(words) => words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(value))
            .map(|w| json!(w))
            .ok_or_else(|| invalid(prop, raw, format!("expected one of {}", words.join(", ")))),
        Kind::Percent => match value.parse::<u8>() {
            Ok(n) if (1..=100).contains(&n) => Ok(json!(n)),
            _ => Err(invalid(prop, raw, "expected an integer from 1 to 100")),
        },
        Kind::ProxyUrl => parse_proxy_url(value)
            .map(|u| json!(u))
            .map_err(|why| invalid(prop, raw, why)),
        Kind::PortList | Kind::BypassList | Kind::ExtensionList { .. } => {
            let entries = split_list(value);
            if entries.is_empty() {
                return Err(
                    invalid(prop, raw, "the list is empty").with_remediation(format!(
                        "To empty the list, run `azcm config clear {}`.",
                        prop.name
                    )),
                );
            }
            let mut out: Vec<String> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for entry in entries {
                let canonical = parse_entry(prop, entry).map_err(|why| invalid(prop, raw, why))?;
                if seen.insert(entry_key(prop, &canonical)) {
                    out.push(canonical);
                }
            }
            if out.len() > 1 && out.iter().any(|e| e == ALLOW_NONE) {
                return Err(invalid(
                    prop,
                    raw,
                    "Allow/None allows no extension and cannot be combined with other entries",
                ));
            }
            Ok(json!(out))
        }
    }
}

fn split_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks one list entry and returns its canonical spelling.
fn parse_entry(prop: &Property, entry: &str) -> std::result::Result<String, String> {
    match prop.kind {
        Kind::PortList => parse_port_spec(entry),
        Kind::BypassList => BYPASS_CATEGORIES
            .iter()
            .find(|c| c.eq_ignore_ascii_case(entry))
            .map(|c| c.to_string())
            .ok_or_else(|| {
                format!(
                    "'{entry}' is not a bypass category (expected {})",
                    BYPASS_CATEGORIES.join(", ")
                )
            }),
        Kind::ExtensionList { allow_none } => {
            if entry.eq_ignore_ascii_case(ALLOW_NONE) {
                return if allow_none {
                    Ok(ALLOW_NONE.to_string())
                } else {
                    Err("Allow/None is only valid in extensions.allowlist".to_string())
                };
            }
            parse_extension(entry)
        }
        _ => unreachable!("parse_entry is only called for list kinds"),
    }
}

fn parse_port_spec(entry: &str) -> std::result::Result<String, String> {
    let port = |s: &str| -> std::result::Result<u16, String> {
        match s.trim().parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(format!("'{s}' is not a port from 1 to 65535")),
        }
    };
    match entry.split_once('-') {
        None => port(entry).map(|p| p.to_string()),
        Some((lo, hi)) => {
            let (lo, hi) = (port(lo)?, port(hi)?);
            if lo > hi {
                return Err(format!("range '{entry}' runs backwards"));
            }
            Ok(if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            })
        }
    }
}

fn parse_extension(entry: &str) -> std::result::Result<String, String> {
    let valid_part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && !s.starts_with('.')
            && !s.ends_with('.')
    };
    match entry.split_once('/') {
        Some((publisher, ty)) if valid_part(publisher) && valid_part(ty) => Ok(format!("{publisher}/{ty}")),
        _ => Err(format!(
            "'{entry}' is not Publisher/Type (e.g. Microsoft.Azure.Monitor/AzureMonitorWindowsAgent)"
        )),
    }
}

fn parse_proxy_url(value: &str) -> std::result::Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials are not allowed in proxy.url (they would be stored in clear text)".into(),
        );
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL has no host")?;
    if !has_explicit_port(value) {
        return Err("the URL has no port (e.g. http://proxy.contoso.corp:8080)".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a path, query or fragment".into());
    }
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(format!("{}://{}:{}", url.scheme(), host, port))
}

/// The url crate forgets a port equal to the scheme's default, so look at the authority as typed.
fn has_explicit_port(value: &str) -> bool {
    let authority = value.split_once("://").map_or("", |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let after_host = host_port
        .rsplit_once(']')
        .map_or(host_port, |(_, rest)| rest);
    after_host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// What entries of a list property are compared by, so that list edits take linear time:
/// ports are canonical numbers; names compare case-insensitively like Azure does.
fn entry_key(prop: &Property, entry: &str) -> String {
    match prop.kind {
        Kind::PortList => entry.to_string(),
        _ => entry.to_ascii_lowercase(),
    }
}

/// Where an effective value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ValueOrigin {
    /// Not set locally: the property's default.
    Default,
    /// Set locally with `azcm config set`.
    Local,
    /// Imposed by `config.mode monitor`.
    MonitorMode,
}

/// The values set locally, keyed by property name (the `localsettings` map of localconfig.json).
pub type Stored = Map<String, Value>;

fn stored_or_default(stored: &Stored, prop: &Property) -> Value {
    stored
        .get(prop.name)
        .cloned()
        .unwrap_or_else(|| prop.default_value())
}

pub fn is_monitor_mode(stored: &Stored) -> bool {
    stored.get("config.mode").and_then(Value::as_str) == Some("monitor")
}

/// The value in effect for `prop`, and why.
pub fn effective(stored: &Stored, prop: &Property) -> (Value, ValueOrigin) {
    if is_monitor_mode(stored) {
        let imposed = match prop.name {
            "extensions.allowlist" => Some(json!(MONITOR_MODE_ALLOWLIST)),
            "extensions.blocklist" => Some(json!([])),
            "guestconfiguration.enabled" | "incomingconnections.enabled" => Some(json!(false)),
            _ => None,
        };
        if let Some(value) = imposed {
            return (value, ValueOrigin::MonitorMode);
        }
    }
    match stored.get(prop.name) {
        Some(v) => (v.clone(), ValueOrigin::Local),
        None => (prop.default_value(), ValueOrigin::Default),
    }
}

/// Checks a stored value read back from localconfig.json (type and content).
pub fn check_stored(prop: &Property, value: &Value) -> std::result::Result<(), String> {
    let as_text = match (prop.kind, value) {
        (Kind::Bool, Value::Bool(_)) => return Ok(()),
        (Kind::Percent, Value::Number(n)) => n.to_string(),
        (Kind::Enum(_) | Kind::ProxyUrl, Value::String(s))
            if prop.kind == Kind::ProxyUrl && s.is_empty() =>
        {
            return Ok(())
        }
        (Kind::Enum(_) | Kind::ProxyUrl, Value::String(s)) => s.clone(),
        (k, Value::Array(items)) if k.is_list() => {
            let mut parts = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(s) => parts.push(s.to_string()),
                    None => return Err(format!("{} must be a list of strings", prop.name)),
                }
            }
            if parts.is_empty() {
                return Ok(());
            }
            parts.join(",")
        }
        _ => {
            return Err(format!(
                "{} must be of type {}",
                prop.name,
                prop.kind.type_name()
            ))
        }
    };
    match parse(prop, &as_text) {
        Ok(canonical) if &canonical == value => Ok(()),
        Ok(canonical) => Err(format!(
            "{} is not in canonical form (expected {canonical})",
            prop.name
        )),
        Err(e) => Err(e.message),
    }
}

/// What a `config set` or `config clear` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    Set(&'a str),
    Add(&'a str),
    Remove(&'a str),
    Clear,
}

/// The result of applying a change: the new stored map plus warnings for the admin.
#[derive(Debug)]
pub struct Applied {
    pub stored: Stored,
    pub warnings: Vec<String>,
}

fn conflict(message: String) -> AzcmError {
    AzcmError::new(ErrorCode::CONFIG_CONFLICT, message)
}

/// Applies one change to the stored settings, enforcing value rules and conflict rules.
/// Pure: the caller persists `Applied::stored` only when this succeeds.
pub fn apply(current: &Stored, prop: &'static Property, change: Change<'_>) -> Result<Applied> {
    let mut warnings = Vec::new();
    let mut next = current.clone();

    if matches!(change, Change::Add(_) | Change::Remove(_)) && !prop.kind.is_list() {
        return Err(AzcmError::invalid_argument(format!(
            "--add and --remove only apply to list properties; {} holds a single value",
            prop.name
        ))
        .with_detail("property", prop.name)
        .with_remediation(format!(
            "Run `azcm config set {} <value>` without --add or --remove.",
            prop.name
        )));
    }

    let monitor = is_monitor_mode(current);
    let locked_in_monitor = matches!(prop.name, "extensions.allowlist" | "extensions.blocklist");
    if monitor && locked_in_monitor {
        return Err(conflict(format!(
            "{} cannot be changed while config.mode is monitor: monitor mode uses Microsoft's managed extension allowlist",
            prop.name
        ))
        .with_detail("property", prop.name)
        .with_detail("configMode", "monitor")
        .with_remediation("Run `azcm config set config.mode full` first, then set your own allowlist or blocklist."));
    }

    match change {
        Change::Clear => {
            next.remove(prop.name);
        }
        Change::Set(raw) => {
            let value = parse(prop, raw)?;
            if monitor
                && value == json!(true)
                && matches!(
                    prop.name,
                    "guestconfiguration.enabled" | "incomingconnections.enabled"
                )
            {
                return Err(conflict(format!(
                    "{} cannot be enabled while config.mode is monitor",
                    prop.name
                ))
                .with_detail("property", prop.name)
                .with_detail("configMode", "monitor")
                .with_remediation("Run `azcm config set config.mode full` first."));
            }
            next.insert(prop.name.to_string(), value);
        }
        Change::Add(raw) | Change::Remove(raw) => {
            let entries = parse(prop, raw)?;
            let entries: Vec<String> =
                serde_json::from_value(entries).expect("list kinds parse to string arrays");
            let stored = stored_or_default(current, prop);
            let mut list: Vec<String> = serde_json::from_value(stored).unwrap_or_default();
            if let Change::Add(_) = change {
                let has_allow_none = list.iter().any(|e| e == ALLOW_NONE);
                let adds_allow_none = entries.iter().any(|e| e == ALLOW_NONE);
                if (has_allow_none && !entries.iter().all(|e| e == ALLOW_NONE))
                    || (adds_allow_none && !list.is_empty() && !has_allow_none)
                {
                    return Err(conflict(format!(
                        "{} would combine Allow/None (allow no extension) with other entries",
                        prop.name
                    ))
                    .with_detail("property", prop.name)
                    .with_detail("current", json!(list))
                    .with_remediation(format!(
                        "Replace the list instead: `azcm config set {} <entries>`.",
                        prop.name
                    )));
                }
                let mut present: std::collections::HashSet<String> =
                    list.iter().map(|e| entry_key(prop, e)).collect();
                for entry in entries {
                    if present.insert(entry_key(prop, &entry)) {
                        list.push(entry);
                    } else {
                        warnings.push(format!("{entry} is already in {}", prop.name));
                    }
                }
            } else {
                let present: std::collections::HashSet<String> =
                    list.iter().map(|e| entry_key(prop, e)).collect();
                let mut removed = std::collections::HashSet::new();
                for entry in entries {
                    let key = entry_key(prop, &entry);
                    if present.contains(&key) {
                        removed.insert(key);
                    } else {
                        warnings.push(format!(
                            "{entry} is not in {}; nothing to remove",
                            prop.name
                        ));
                    }
                }
                list.retain(|e| !removed.contains(&entry_key(prop, e)));
            }
            if list.is_empty() {
                next.remove(prop.name);
            } else {
                next.insert(prop.name.to_string(), json!(list));
            }
        }
    }

    warnings.extend(advisories(current, &next, prop));
    Ok(Applied {
        stored: next,
        warnings,
    })
}

fn list_of(stored: &Stored, name: &str) -> Vec<String> {
    stored
        .get(name)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Warnings about a legal but notable result, following azcmagent's documented semantics.
fn advisories(before: &Stored, after: &Stored, prop: &Property) -> Vec<String> {
    let mut out = Vec::new();
    match prop.name {
        "extensions.allowlist" | "extensions.blocklist" => {
            let allow: BTreeSet<String> = list_of(after, "extensions.allowlist")
                .iter()
                .map(|e| e.to_ascii_lowercase())
                .collect();
            for entry in list_of(after, "extensions.blocklist") {
                if allow.contains(&entry.to_ascii_lowercase()) {
                    out.push(format!(
                        "{entry} is in both extensions.allowlist and extensions.blocklist: the blocklist wins, so it is blocked"
                    ));
                }
            }
        }
        "proxy.bypass"
            if after.contains_key("proxy.bypass")
                && stored_or_default(after, find_static("proxy.url")) == json!("") =>
        {
            out.push("proxy.bypass has no effect until proxy.url is set".to_string());
        }
        "config.mode"
            if is_monitor_mode(after)
                && !is_monitor_mode(before)
                && (after.contains_key("extensions.allowlist")
                    || after.contains_key("extensions.blocklist")) =>
        {
            out.push("your extensions.allowlist and extensions.blocklist are kept but not in effect while config.mode is monitor".to_string());
        }
        _ => {}
    }
    out
}

fn find_static(name: &str) -> &'static Property {
    PROPERTIES
        .iter()
        .find(|p| p.name == name)
        .expect("known property")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> &'static Property {
        find(name).unwrap()
    }

    #[test]
    fn ports_are_canonicalised_and_checked() {
        assert_eq!(
            parse(p("incomingconnections.ports"), "22, 6516,100-200,7-7,22").unwrap(),
            json!(["22", "6516", "100-200", "7"])
        );
        for bad in ["0", "65536", "a", "200-100", "1-", "-5", "22,,x"] {
            assert!(parse(p("incomingconnections.ports"), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proxy_url_rules() {
        let prop = p("proxy.url");
        assert_eq!(
            parse(prop, "http://proxy.contoso.corp:8080").unwrap(),
            json!("http://proxy.contoso.corp:8080")
        );
        assert_eq!(
            parse(prop, "HTTPS://Proxy:443/").unwrap(),
            json!("https://proxy:443")
        );
        for bad in [
            "proxy:8080",
            "ftp://p:21",
            "http://user:pw@p:8080",
            "http://p",
            "http://p:8080/path",
            "http://:8080",
        ] {
            assert!(parse(prop, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extension_lists() {
        let allow = p("extensions.allowlist");
        assert_eq!(parse(allow, "allow/none").unwrap(), json!(["Allow/None"]));
        assert!(parse(allow, "Allow/None,A/B").is_err());
        assert!(parse(p("extensions.blocklist"), "Allow/None").is_err());
        assert!(parse(allow, "NoSlash").is_err());
        assert!(parse(allow, "A/B/C").is_err());
        assert_eq!(parse(allow, "A/B, a/b").unwrap(), json!(["A/B"]));
    }

    #[test]
    fn monitor_mode_imposes_and_locks() {
        let mut stored = Stored::new();
        stored.insert("config.mode".into(), json!("monitor"));
        let (v, src) = effective(&stored, p("guestconfiguration.enabled"));
        assert_eq!((v, src), (json!(false), ValueOrigin::MonitorMode));
        let err = apply(&stored, p("extensions.allowlist"), Change::Add("A/B")).unwrap_err();
        assert_eq!(err.code, ErrorCode::CONFIG_CONFLICT);
        let err = apply(
            &stored,
            p("guestconfiguration.enabled"),
            Change::Set("true"),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::CONFIG_CONFLICT);
        assert!(apply(
            &stored,
            p("guestconfiguration.enabled"),
            Change::Set("false")
        )
        .is_ok());
    }

    #[test]
    fn stored_values_are_checked() {
        assert!(check_stored(p("proxy.url"), &json!("")).is_ok());
        assert!(check_stored(p("extensions.agent.cpulimit"), &json!(5)).is_ok());
        assert!(check_stored(p("extensions.agent.cpulimit"), &json!(500)).is_err());
        assert!(check_stored(p("proxy.bypass"), &json!(["AAD"])).is_ok());
        assert!(check_stored(p("proxy.bypass"), &json!("AAD")).is_err());
        assert!(check_stored(p("connection.type"), &json!("Gateway")).is_err());
    }
}
