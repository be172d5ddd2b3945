//! An onboarding request's parts, checked before any network I/O: azcmagent's tag syntax,
//! Azure's naming rules for machines and resource groups, and the resource ids connect accepts.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::{ids, platform};
use std::collections::BTreeMap;

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
        if name.len() > 512 || value.len() > 256 || name.chars().any(|c| "<>%&\\?/".contains(c)) {
            return Err(bad(&format!("tag '{name}' breaks Azure's rules (name up to 512 characters without <>%&\\?/, value up to 256)")));
        }
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(bad(&format!("tag '{name}' is given twice")));
        }
        tags.insert(name, value);
        if tags.len() > 50 {
            return Err(bad("Azure allows at most 50 tags"));
        }
    }
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
