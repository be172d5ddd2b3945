//! `agentconfig.json`: what `connect` wrote about the machine's Azure resource. Tools such as
//! Microsoft's DSC module for the agent read `TenantId`, `SubscriptionId`, `ResourceGroup`
//! and `Location` from it: the agent's own PascalCase names, kept for every field so that
//! case-sensitive readers (jq, Python) find them too.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::state::write_atomic;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentConfig {
    pub resource_id: String,
    pub resource_name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub tenant_id: String,
    pub cloud: String,
    pub vm_id: String,
    #[serde(default)]
    pub principal_id: String,
    pub correlation_id: String,
    #[serde(default)]
    pub private_link_scope: String,
    /// The Azure Arc gateway the agent's traffic goes through, and its endpoint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway_url: String,
    /// The HybridCompute api-version the resource was created with.
    pub api_version: String,
    /// RFC 3339 time of the (last) connect.
    pub connected_at: String,
}

impl AgentConfig {
    /// `None` when the machine is not connected (no file).
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let text = match crate::files::read_state_file(path, crate::files::MAX_STATE_FILE) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(AzcmError::new(
                    ErrorCode::LOCAL_CONFIG_READ,
                    format!(
                        "cannot read the agent configuration {}: {e}",
                        path.display()
                    ),
                )
                .with_detail("path", path.display().to_string()))
            }
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| {
            AzcmError::new(
                ErrorCode::LOCAL_CONFIG_READ,
                format!("the agent configuration {} is invalid: {e}", path.display()),
            )
            .with_detail("path", path.display().to_string())
            .with_remediation("Run `azcm disconnect --force-local-only` to reset the local state, then connect again.")
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("serialises");
        bytes.push(b'\n');
        write_atomic(path, &bytes).map_err(|e| {
            AzcmError::new(
                ErrorCode::LOCAL_CONFIG_UPDATE,
                format!(
                    "cannot write the agent configuration {}: {e}",
                    path.display()
                ),
            )
            .with_detail("path", path.display().to_string())
        })
    }

    /// Whether this configuration names the same resource (ARM names are case-insensitive).
    pub fn is_resource(&self, subscription_id: &str, resource_group: &str, name: &str) -> bool {
        self.subscription_id.eq_ignore_ascii_case(subscription_id)
            && self.resource_group.eq_ignore_ascii_case(resource_group)
            && self.resource_name.eq_ignore_ascii_case(name)
    }
}
