//! Azure's identifiers: GUIDs (new ones, and the check of given ones), resource group names
//! and resource ids.

use crate::error::{AzcmError, Result};

pub fn new_guid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        8 | (b[8] & 0x3),
        u16::from_be_bytes([b[8], b[9]]) & 0x0fff,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

/// Whether a string is a GUID (8-4-4-4-12 hex digits).
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `--<flag>`'s value as a GUID, or AZCM0003 naming the flag.
pub fn require_guid(flag: &str, value: &str) -> Result<()> {
    if is_guid(value) {
        Ok(())
    } else {
        Err(
            AzcmError::invalid_argument(format!("--{flag} must be a GUID, not '{value}'"))
                .with_detail("flag", flag),
        )
    }
}

/// Azure's rule for resource group names: 1 to 90 letters, digits, `_-.()`, not ending in `.`.
pub fn is_resource_group_name(name: &str) -> bool {
    (1..=90).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        && !name.ends_with('.')
}

/// `/subscriptions/<guid>/resourceGroups/<group>/providers/<namespace>/<type>/<name>`.
pub fn is_resource_id(id: &str, namespace: &str, kind: &str) -> bool {
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    id.starts_with('/')
        && parts.len() == 8
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && is_guid(parts[1])
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && is_resource_group_name(parts[3])
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case(namespace)
        && parts[6].eq_ignore_ascii_case(kind)
        && !parts[7].is_empty()
}

#[cfg(test)]
mod tests {
    #[test]
    fn guids_are_guids() {
        for _ in 0..100 {
            let g = super::new_guid();
            assert!(super::is_guid(&g), "{g}");
        }
        assert!(!super::is_guid("not-a-guid"));
        assert!(!super::is_guid("0000000-0000-0000-0000-000000000000"));
    }

    #[test]
    fn resource_ids_and_group_names() {
        assert!(super::is_resource_group_name("rg-(prod).1"));
        assert!(!super::is_resource_group_name("rg."));
        assert!(!super::is_resource_group_name(""));
        let scope = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/s";
        assert!(super::is_resource_id(
            scope,
            "Microsoft.HybridCompute",
            "privateLinkScopes"
        ));
        assert!(!super::is_resource_id(
            scope,
            "Microsoft.HybridCompute",
            "gateways"
        ));
        assert!(!super::is_resource_id(
            &scope[1..],
            "Microsoft.HybridCompute",
            "privateLinkScopes"
        ));
        assert!(!super::is_resource_id(
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/s",
            "Microsoft.HybridCompute",
            "privateLinkScopes"
        ));
    }
}
