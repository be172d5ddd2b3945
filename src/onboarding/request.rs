//! An onboarding request's parts, checked before any network I/O: azcmagent's tag syntax,
//! Azure's naming rules for machines and resource groups, and the resource ids connect accepts.

use super::OnboardingRequest;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::{arm, cloud, ids, platform};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where and how a machine is to be onboarded, as a face (connect's flags, a DSC document)
/// gives it: unchecked. [`Target::request`] checks it once, before any network I/O.
#[derive(Debug, Default, Clone)]
pub struct Target {
    pub cloud: String,
    pub location: String,
    pub subscription: String,
    pub resource_group: String,
    /// `None`: the host name.
    pub resource_name: Option<String>,
    /// `None`: not named (see [`OnboardingRequest::tags`]).
    pub tags: Option<BTreeMap<String, String>>,
    pub correlation_id: Option<String>,
    pub private_link_scope: Option<String>,
    pub gateway_id: Option<String>,
    pub automanage_profile: Option<String>,
    pub enable_automatic_upgrade: bool,
    pub ignore_network_check: bool,
    pub what_if: bool,
    pub retry_budget: Duration,
}

impl Target {
    /// Every check that needs no network, in the order of the parts' importance.
    pub fn request(self) -> Result<OnboardingRequest> {
        let cloud = cloud::find(&self.cloud)?;
        let location = cloud.region(&self.location)?;
        check_resource_group(&self.resource_group)?;
        if self.subscription.trim().is_empty() {
            return Err(AzcmError::invalid_argument("--subscription-id is empty"));
        }
        let resource_name = resource_name(self.resource_name.as_deref())?;
        if let Some(tags) = &self.tags {
            check_tags(tags)?;
        }
        if let Some(id) = &self.correlation_id {
            ids::require_guid("correlation-id", id)?;
        }
        if let Some(scope) = &self.private_link_scope {
            check_private_link_scope(scope)?;
        }
        if let Some(gateway) = &self.gateway_id {
            check_gateway(gateway)?;
        }
        if let Some(profile) = &self.automanage_profile {
            check_automanage_profile(profile)?;
        }
        Ok(OnboardingRequest {
            cloud,
            location,
            subscription: self.subscription,
            resource_group: self.resource_group,
            resource_name,
            tags: self.tags,
            correlation_id: self.correlation_id.unwrap_or_else(ids::new_guid),
            api_version: arm::hybridcompute_api_version()?,
            private_link_scope: self.private_link_scope,
            gateway_id: self.gateway_id,
            automanage_profile: self.automanage_profile,
            enable_automatic_upgrade: self.enable_automatic_upgrade,
            ignore_network_check: self.ignore_network_check,
            what_if: self.what_if,
            retry_budget: self.retry_budget,
            // Known once the sign-in method is (its secret is read after every part is checked).
            tenant_hint: None,
        })
    }
}

/// Azure's rules for tags, however they were given.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    let bad = |why: String| AzcmError::invalid_argument(format!("invalid tags: {why}"));
    if tags.len() > 50 {
        return Err(bad("Azure allows at most 50 tags".into()));
    }
    let mut names = std::collections::HashSet::new();
    for (name, value) in tags {
        if name.trim().is_empty() {
            return Err(bad("a tag has an empty name".into()));
        }
        if name.len() > 512 || value.len() > 256 || name.chars().any(|c| "<>%&\\?/".contains(c)) {
            return Err(bad(format!("tag '{}' breaks Azure's rules (name up to 512 characters without <>%&\\?/, value up to 256)", crate::error::excerpt(name))));
        }
        // Tag names compare case-insensitively, as Azure does.
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(bad(format!(
                "tag '{}' is given twice",
                crate::error::excerpt(name)
            )));
        }
    }
    Ok(())
}

/// A resource's `tags` object (non-text values are left out: ARM's tags are text).
pub fn tags_of(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|tags| {
            tags.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether two tag sets are the same to Azure: names compare without case, values exactly.
pub fn same_tags(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(name, value)| {
            b.iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value)
        })
}

/// Tags as `--tags` writes them (quoted where the syntax needs it), for messages.
pub fn tags_text(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "none".into();
    }
    let quote = |t: &str| match t.contains([',', '=', '\'', ' ']) || t.is_empty() {
        true => format!("'{}'", t.replace('\'', "''")),
        false => t.to_string(),
    };
    tags.iter()
        .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// azcmagent's tag syntax: `Name=Value,Other='Value, with spaces'`; a doubled quote inside
/// quotes is a literal quote.
pub fn parse_tags(text: &str) -> Result<BTreeMap<String, String>> {
    let bad = |why: &str| {
        AzcmError::invalid_argument(format!(
            "invalid --tags '{}': {why}",
            crate::error::excerpt(text)
        ))
        .with_detail("tags", crate::error::excerpt(text))
    };
    let mut tags = BTreeMap::new();
    // Tag names compare case-insensitively, as Azure does; one set keeps the check linear.
    let mut names = std::collections::HashSet::new();
    let mut chars = text.chars().peekable();
    let read =
        |stop: &[char], chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<String> {
            let mut out = String::new();
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek() == Some(&'\'') {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(bad("a quote is not closed")),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            out.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => out.push(c),
                    }
                }
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
                if chars.peek().is_some_and(|c| !stop.contains(c)) {
                    return Err(bad("text after a closing quote"));
                }
                return Ok(out);
            }
            while let Some(&c) = chars.peek() {
                if stop.contains(&c) {
                    break;
                }
                if c == '\'' {
                    return Err(bad("a quote inside an unquoted name or value"));
                }
                out.push(c);
                chars.next();
            }
            Ok(out.trim().to_string())
        };
    while chars.peek().is_some() {
        let name = read(&['=', ','], &mut chars)?;
        if chars.next() != Some('=') {
            return Err(bad(&format!("tag '{name}' has no =value")));
        }
        let value = read(&[','], &mut chars)?;
        chars.next();
        if name.is_empty() {
            return Err(bad("a tag has an empty name"));
        }
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(bad(&format!("tag '{name}' is given twice")));
        }
        tags.insert(name, value);
    }
    check_tags(&tags).map_err(|e| e.with_detail("tags", crate::error::excerpt(text)))?;
    Ok(tags)
}

pub fn check_resource_group(name: &str) -> Result<()> {
    if ids::is_resource_group_name(name) {
        Ok(())
    } else {
        Err(AzcmError::invalid_argument(format!(
            "invalid --resource-group '{name}': 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'"
        ))
        .with_detail("resourceGroup", name))
    }
}

fn machine_name_error(name: &str) -> Option<&'static str> {
    if !(1..=54).contains(&name.len()) {
        return Some("1 to 54 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some("only letters, digits, '-', '_' and '.'");
    }
    if name.ends_with('-') || name.ends_with('_') || name.ends_with('.') {
        return Some("must not end with '-', '_' or '.'");
    }
    None
}

/// `--resource-name`, else the host name without its domain.
pub fn resource_name(given: Option<&str>) -> Result<String> {
    if let Some(name) = given {
        return match machine_name_error(name) {
            None => Ok(name.to_string()),
            Some(why) => Err(AzcmError::invalid_argument(format!(
                "invalid --resource-name '{name}': {why}"
            ))
            .with_detail("resourceName", name)),
        };
    }
    let host = platform::hostname().map_err(|e| {
        AzcmError::new(
            ErrorCode::HOSTNAME,
            format!("cannot read the host name: {e}"),
        )
    })?;
    let short = host.split('.').next().unwrap_or("").to_string();
    match machine_name_error(&short) {
        None => Ok(short),
        Some(why) => Err(AzcmError::new(ErrorCode::HOSTNAME, format!("the host name '{host}' is not a valid resource name ({why})"))
            .with_remediation("Pass --resource-name with letters, digits, hyphens and underscores, not ending in a hyphen or underscore.")),
    }
}

pub fn check_gateway(id: &str) -> Result<()> {
    if ids::is_resource_id(id, "Microsoft.HybridCompute", "gateways") {
        return Ok(());
    }
    Err(AzcmError::invalid_argument(format!(
        "--gateway-id must be a resource id like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.HybridCompute/gateways/<name>, not '{id}'"
    )))
}

/// A built-in best-practices profile or a custom configuration profile.
pub fn check_automanage_profile(id: &str) -> Result<()> {
    let builtin = ["AzureBestPracticesProduction", "AzureBestPracticesDevTest"]
        .iter()
        .any(|p| {
            id.eq_ignore_ascii_case(&format!(
                "/providers/Microsoft.Automanage/bestPractices/{p}"
            ))
        });
    if builtin || ids::is_resource_id(id, "Microsoft.Automanage", "configurationProfiles") {
        return Ok(());
    }
    Err(AzcmError::invalid_argument(format!(
        "--automanage-profile must be /providers/Microsoft.Automanage/bestPractices/AzureBestPracticesProduction (or ...DevTest) or a configuration profile's resource id, not '{id}'"
    )))
}

pub fn check_private_link_scope(id: &str) -> Result<()> {
    if ids::is_resource_id(id, "Microsoft.HybridCompute", "privateLinkScopes") {
        return Ok(());
    }
    Err(AzcmError::invalid_argument(format!(
        "--private-link-scope must be a resource id like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.HybridCompute/privateLinkScopes/<name>, not '{id}'"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_azcmagent_syntax() {
        let tags = parse_tags(
            "Datacenter=NY3,Application=SharePoint,Owner='Shared Infrastructure Services'",
        )
        .unwrap();
        assert_eq!(tags["Owner"], "Shared Infrastructure Services");
        assert_eq!(tags["Datacenter"], "NY3");
        assert_eq!(
            parse_tags("'Cost Center'='It''s, here'").unwrap()["Cost Center"],
            "It's, here"
        );
        assert_eq!(parse_tags("Empty=").unwrap()["Empty"], "");
        for bad in [
            "NoValue", "=x", "a='open", "a=b'c", "a=1,A=2", "a/b=1", "a='x'y",
        ] {
            assert!(parse_tags(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_ids_are_checked() {
        assert!(machine_name_error("web-01").is_none());
        assert!(machine_name_error("web_").is_some());
        assert!(machine_name_error("web 01").is_some());
        assert!(machine_name_error(&"a".repeat(55)).is_some());
        assert!(check_resource_group("rg-(prod).1").is_ok());
        assert!(check_resource_group("rg.").is_err());
        assert!(check_gateway("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.HybridCompute/gateways/g").is_ok());
        assert!(check_automanage_profile(
            "/providers/Microsoft.Automanage/bestPractices/AzureBestPracticesDevTest"
        )
        .is_ok());
        assert!(
            check_automanage_profile("/providers/Microsoft.Automanage/bestPractices/Other")
                .is_err()
        );
        assert!(check_private_link_scope("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/s").is_ok());
        assert!(check_private_link_scope("/subscriptions/x/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/s").is_err());
    }
}
