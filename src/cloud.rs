//! Clouds azcm can onboard to: the built-in ones (data/clouds.json) and custom clouds from a
//! cloud definition file (docs/cloud-file.md), with their Entra ID authority, ARM endpoint and
//! audience, portal and regions.

use crate::error::{AzcmError, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Environment variable naming a cloud definition file with custom clouds.
pub const CLOUD_FILE_ENV: &str = "AZCM_CLOUD_FILE";
/// The cloud `connect` uses when `--cloud` is not given (the fake cloud's `--print-env` sets
/// it, so README's examples talk to the fake, never to Azure); else [`DEFAULT_CLOUD`].
pub const CLOUD_ENV: &str = "AZCM_CLOUD";
/// The cloud `connect` uses when none is given.
pub const DEFAULT_CLOUD: &str = "AzureCloud";
/// Names of the built-in clouds, in the order `--cloud` lists them.
pub const BUILTIN_CLOUDS: &[&str] = &["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"];

const BUILTIN: &str = include_str!("../data/clouds.json");
const BUILTIN_ENDPOINTS: &str = include_str!("../data/endpoints.json");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cloud {
    pub name: String,
    /// Entra ID authority host, e.g. https://login.microsoftonline.com.
    pub authority: String,
    /// Azure Resource Manager endpoint, e.g. https://management.azure.com.
    pub resource_manager: String,
    /// The audience (resource) ARM tokens are requested for.
    pub audience: String,
    pub portal: String,
    pub regions: Vec<String>,
    /// The endpoints `check` probes (docs/endpoints.md); built-in clouds take theirs from
    /// data/endpoints.json.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointSpec>,
    /// Region → the regional Hybrid Identity Service host's prefix (westeurope → weu), used
    /// when the global HIS cannot be asked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub his_regions: BTreeMap<String, String>,
    /// The global HIS discovery URL (`{region}` filled in) that names the regional HIS host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub his_discovery: Option<String>,
}

/// One entry of the endpoint catalogue. `url` may hold `{region}` and `{hisRegion}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSpec {
    pub id: String,
    pub use_case: String,
    pub url: String,
    /// The proxy.bypass category: AAD, ARM, Arc or ArcData.
    pub category: String,
    pub required: bool,
    /// Reachable through an Azure Arc private link scope (private endpoint).
    pub private_link: bool,
    /// Routed through the Azure Arc gateway when the agent uses one.
    pub gateway: bool,
    /// Not used when the machine connects through a private link scope.
    #[serde(default)]
    pub not_with_private_link: bool,
    /// Checked only with `--extensions <name>` or `--include-all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

/// Proxy-bypass categories an endpoint may belong to (azcmagent's proxy.bypass values).
pub const BYPASS_CATEGORIES: &[&str] = &["AAD", "ARM", "Arc", "ArcData", "AMA"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EndpointFile {
    version: u32,
    #[allow(dead_code)]
    source: String,
    clouds: BTreeMap<String, CloudEndpoints>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CloudEndpoints {
    his_discovery: Option<String>,
    his_regions: BTreeMap<String, String>,
    endpoints: Vec<EndpointSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CloudFile {
    #[serde(default)]
    version: Option<u32>,
    clouds: Vec<Cloud>,
}

fn file_error(path: &Path, why: impl std::fmt::Display) -> AzcmError {
    AzcmError::new(
        ErrorCode::CONFIG_FILE,
        format!(
            "cannot use the cloud definition file {}: {why}",
            path.display()
        ),
    )
    .with_detail("path", path.display().to_string())
    .with_remediation("Fix the file (docs/cloud-file.md describes it) or unset AZCM_CLOUD_FILE.")
}

fn check_https(path: &Path, cloud: &Cloud, field: &str, value: &str) -> Result<()> {
    // The prefix too: the URL parser reads "https:/host" as https://host, but the endpoints
    // are used as written (joined with paths), so the text itself must be a full https:// URL.
    // Credentials in a URL (user:pass@host) would travel with every request and show in
    // every message and log that names the endpoint: refused.
    match url::Url::parse(value) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => Err(file_error(
            path,
            format!(
                "cloud '{}': {field} must not carry a user name or password (user:pass@host)",
                crate::error::excerpt(&cloud.name)
            ),
        )),
        Ok(u)
            if value.starts_with("https://") && u.scheme() == "https" && u.host_str().is_some() =>
        {
            Ok(())
        }
        _ => Err(file_error(
            path,
            format!(
                "cloud '{}': {field} must be an https:// URL, not '{}'",
                crate::error::excerpt(&cloud.name),
                crate::error::excerpt(value)
            ),
        )),
    }
}

fn builtin_clouds() -> Vec<Cloud> {
    let mut clouds: Vec<Cloud> = serde_json::from_str::<CloudFile>(BUILTIN)
        .expect("data/clouds.json is valid")
        .clouds;
    let mut endpoints: EndpointFile =
        serde_json::from_str(BUILTIN_ENDPOINTS).expect("data/endpoints.json is valid");
    debug_assert_eq!(endpoints.version, 1);
    for cloud in &mut clouds {
        if let Some(e) = endpoints.clouds.remove(&cloud.name) {
            cloud.endpoints = e.endpoints;
            cloud.his_regions = e.his_regions;
            cloud.his_discovery = e.his_discovery;
        }
    }
    clouds
}

/// The cloud a command uses when none is named or connected: `AZCM_CLOUD`, else AzureCloud.
pub fn default_cloud_name() -> String {
    std::env::var(CLOUD_ENV)
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_CLOUD.to_string())
}

/// The built-in clouds plus those of the cloud definition file (`AZCM_CLOUD_FILE`), if any.
pub fn catalogue() -> Result<Vec<Cloud>> {
    let mut clouds = builtin_clouds();
    if let Some(path) = std::env::var_os(CLOUD_FILE_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
    {
        clouds.extend(load_file(&path)?);
    }
    Ok(clouds)
}

/// Reads custom clouds from a cloud definition file.
pub fn load_file(path: &Path) -> Result<Vec<Cloud>> {
    let text = crate::files::read_input_text(path, crate::files::MAX_CLOUD_FILE)
        .map_err(|e| file_error(path, e))?;
    parse_file(path, &text)
}

/// The clouds a cloud definition file's text defines; `path` names it in errors.
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<Cloud>> {
    let file: CloudFile = serde_json::from_str(text).map_err(|e| file_error(path, e))?;
    if file.version.is_some_and(|v| v != 1) {
        return Err(file_error(path, "only version 1 is known"));
    }
    for cloud in &file.clouds {
        if BUILTIN_CLOUDS
            .iter()
            .any(|b| b.eq_ignore_ascii_case(&cloud.name))
        {
            return Err(file_error(
                path,
                format!(
                    "'{}' is a built-in cloud and cannot be redefined",
                    cloud.name
                ),
            ));
        }
        if cloud.name.trim().is_empty() || cloud.regions.is_empty() {
            return Err(file_error(
                path,
                "every cloud needs a name and at least one region",
            ));
        }
        check_https(path, cloud, "authority", &cloud.authority)?;
        check_https(path, cloud, "resourceManager", &cloud.resource_manager)?;
        for endpoint in &cloud.endpoints {
            let sample = endpoint
                .url
                .replace("{region}", "region")
                .replace("{hisRegion}", "his");
            check_https(path, cloud, &format!("endpoint '{}'", endpoint.id), &sample)?;
            if !BYPASS_CATEGORIES.contains(&endpoint.category.as_str()) {
                return Err(file_error(
                    path,
                    format!(
                        "cloud '{}': endpoint '{}' has category '{}', not one of {}",
                        cloud.name,
                        endpoint.id,
                        endpoint.category,
                        BYPASS_CATEGORIES.join(", ")
                    ),
                ));
            }
        }
        if let Some(discovery) = &cloud.his_discovery {
            check_https(
                path,
                cloud,
                "hisDiscovery",
                &discovery.replace("{region}", "r"),
            )?;
        }
    }
    Ok(file.clouds)
}

/// Finds a cloud by name, case-insensitively; unknown → AZCM0023 naming the known ones.
pub fn find(name: &str) -> Result<Cloud> {
    let clouds = catalogue()?;
    let names: Vec<String> = clouds.iter().map(|c| c.name.clone()).collect();
    clouds
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            AzcmError::invalid_argument(format!(
                "unknown cloud '{name}'; known clouds: {}",
                names.join(", ")
            ))
            .with_detail("cloud", name)
            .with_detail("knownClouds", names)
        })
}

/// azcmagent's normalisation: spaces removed, lower case ("West Europe" → "westeurope").
pub fn normalize_region(region: &str) -> String {
    region
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl Cloud {
    /// The region as ARM spells it, or AZCM0020 suggesting the nearest known names.
    pub fn region(&self, region: &str) -> Result<String> {
        let wanted = normalize_region(region);
        if let Some(known) = self.regions.iter().find(|r| **r == wanted) {
            return Ok(known.clone());
        }
        // A name more than 3 characters longer than a region is more than 3 edits from it:
        // no need to measure (which would take time in proportion to its length).
        let length = wanted.chars().count();
        let mut near: Vec<(usize, &String)> = self
            .regions
            .iter()
            .map(|r| {
                if length > r.chars().count() + 3 {
                    (usize::MAX, r)
                } else {
                    (distance(&wanted, r), r)
                }
            })
            .collect();
        near.sort();
        let suggestions: Vec<String> = near
            .iter()
            .filter(|(d, r)| {
                *d <= 3 || r.starts_with(&wanted) || (!wanted.is_empty() && r.contains(&wanted))
            })
            .take(3)
            .map(|(_, r)| (*r).clone())
            .collect();
        let hint = if suggestions.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", suggestions.join(", "))
        };
        Err(AzcmError::new(
            ErrorCode::UNKNOWN_REGION,
            format!(
                "'{}' is not a region of {}{hint}",
                crate::error::excerpt(region),
                self.name
            ),
        )
        .with_detail("location", crate::error::excerpt(region))
        .with_detail("cloud", self.name.clone())
        .with_detail("suggestions", suggestions)
        .with_detail("knownRegions", self.regions.clone()))
    }

    /// The endpoints `check` probes: the catalogue's, or for a custom cloud that lists none,
    /// its Entra ID authority and ARM endpoint.
    pub fn endpoint_specs(&self) -> Vec<EndpointSpec> {
        if !self.endpoints.is_empty() {
            return self.endpoints.clone();
        }
        let entry = |id: &str, use_case: &str, url: &str, category: &str| EndpointSpec {
            id: id.into(),
            use_case: use_case.into(),
            url: url.into(),
            category: category.into(),
            required: true,
            private_link: false,
            gateway: false,
            not_with_private_link: false,
            extension: None,
        };
        vec![
            entry("entraId", "Entra ID", &self.authority, "AAD"),
            entry(
                "resourceManager",
                "Azure Resource Manager",
                &self.resource_manager,
                "ARM",
            ),
        ]
    }

    /// The regional HIS prefix from the maintained table (the fallback when discovery fails).
    pub fn his_region_from_table(&self, region: &str) -> Option<String> {
        self.his_regions.get(region).cloned()
    }

    /// The portal page of a resource.
    /// The resource's page in the portal, in its tenant (`#@<tenant>`), so the portal opens it
    /// in the right directory for an admin with several.
    pub fn portal_link(&self, tenant_id: &str, resource_id: &str) -> String {
        format!(
            "{}/#@{tenant_id}/resource{resource_id}",
            self.portal.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_clouds_are_complete_and_https() {
        let file: CloudFile = serde_json::from_str(BUILTIN).unwrap();
        let names: Vec<&str> = file.clouds.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, BUILTIN_CLOUDS);
        for cloud in &file.clouds {
            for url in [&cloud.authority, &cloud.resource_manager, &cloud.portal] {
                assert!(url.starts_with("https://"), "{url}");
            }
            assert!(cloud.audience.starts_with("https://management.core."));
        }
    }

    #[test]
    fn builtin_endpoint_catalogue_is_consistent() {
        let file: EndpointFile = serde_json::from_str(BUILTIN_ENDPOINTS).unwrap();
        assert_eq!(file.version, 1);
        for cloud in builtin_clouds() {
            assert!(!cloud.endpoints.is_empty(), "{}", cloud.name);
            for region in &cloud.regions {
                assert!(
                    cloud.his_regions.contains_key(region),
                    "{}: no HIS prefix for {region}",
                    cloud.name
                );
            }
            for key in cloud.his_regions.keys() {
                assert!(cloud.regions.contains(key), "{}: {key}", cloud.name);
            }
            let mut ids = std::collections::BTreeSet::new();
            for e in &cloud.endpoints {
                assert!(
                    ids.insert(e.id.clone()),
                    "{}: duplicate {}",
                    cloud.name,
                    e.id
                );
                assert!(BYPASS_CATEGORIES.contains(&e.category.as_str()), "{}", e.id);
                let url = e
                    .url
                    .replace("{region}", "westeurope")
                    .replace("{hisRegion}", "weu");
                let parsed = url::Url::parse(&url).unwrap();
                assert_eq!(parsed.scheme(), "https", "{url}");
                assert!(!url.contains('{'), "{url}");
            }
            for needed in [
                "entraId",
                "resourceManager",
                "hisGlobal",
                "hisRegional",
                "guestConfiguration",
                "guestConfigurationRegional",
                "guestNotification",
                "extensionDownload",
            ] {
                assert!(ids.contains(needed), "{}: {needed}", cloud.name);
            }
            assert!(cloud.his_discovery.as_deref().unwrap().contains("{region}"));
        }
    }

    #[test]
    fn regions_are_normalised_and_unknown_ones_suggested() {
        let cloud = find("azurecloud").unwrap();
        assert_eq!(cloud.region("West Europe").unwrap(), "westeurope");
        let err = cloud.region("westeurop").unwrap_err();
        assert_eq!(err.code, ErrorCode::UNKNOWN_REGION);
        assert!(err.message.contains("westeurope"), "{}", err.message);
        let err = cloud.region("mars").unwrap_err();
        assert!(!err.message.contains("did you mean"), "{}", err.message);
    }

    #[test]
    fn custom_cloud_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clouds.json");
        let good = r#"{"clouds":[{"name":"Lab","authority":"https://login.lab","resourceManager":"https://arm.lab","audience":"https://arm.lab/","portal":"https://portal.lab","regions":["lab1"]}]}"#;
        std::fs::write(&path, good).unwrap();
        assert_eq!(load_file(&path).unwrap()[0].name, "Lab");
        for bad in [
            good.replace("https://arm.lab\"", "http://arm.lab\""),
            // Parsed as https://login.lab, but used as written: found by the cloud_file fuzzer.
            good.replace("https://login.lab", "https:/login.lab"),
            good.replace("\"Lab\"", "\"AzureCloud\""),
            good.replace("[\"lab1\"]", "[]"),
            good.replace("\"portal\"", "\"portalUrl\""),
            "{".to_string(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(
                load_file(&path).unwrap_err().code,
                ErrorCode::CONFIG_FILE,
                "{bad}"
            );
        }
    }
}
