//! What the fake cloud knows: its tenant, service principals, subscriptions, resource groups,
//! machines and long-running operations, plus the faults a test has asked for and a log of
//! every request.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A named step of the onboarding conversation, where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    Token,
    DeviceCode,
    /// Entra's authority metadata: OpenID configuration, instance discovery, signing keys.
    Discovery,
    Subscription,
    Provider,
    Register,
    ResourceGroup,
    /// `resourcegroups` of a subscription (ARM paths are case-insensitive; SDKs write it so).
    ResourceGroupList,
    /// ARM's generic resources API: `resources` of a resource group.
    Resources,
    MachineGet,
    MachinePut,
    MachinePatch,
    MachineDelete,
    /// `machines` of a resource group or of a subscription.
    MachineList,
    LroPoll,
    Gateway,
    MachineSettings,
    Automanage,
    Imds,
    /// The endpoints `azcm check` probes (HIS discovery, /arc, /his, /_status).
    Check,
    Admin,
    Other,
}

/// What a fault does to the request it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum FaultKind {
    /// 429 Too Many Requests with `Retry-After` in seconds, or as an HTTP date when `httpDate`.
    Throttle {
        #[serde(default = "one")]
        retry_after_secs: u64,
        #[serde(default)]
        http_date: bool,
    },
    /// An HTTP error status with ARM's error body (500, 502, 503, ...).
    Status {
        status: u16,
        #[serde(default)]
        code: Option<String>,
    },
    /// The connection is closed without an answer.
    Reset,
    /// The answer comes after a delay.
    Delay { ms: u64 },
    /// A 200 whose JSON body is cut in half.
    TruncatedJson,
    /// A 200 whose body is not JSON at all.
    InvalidJson,
    /// A 200 whose body is `mib` MiB of JSON white space: a client must stop reading it.
    OversizedBody { mib: u64 },
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub step: Step,
    pub kind: FaultKind,
    /// How many requests of that step it hits before it is used up.
    #[serde(default = "one_u32")]
    pub times: u32,
}

fn one_u32() -> u32 {
    1
}

/// One request as the fake saw it; secrets are never recorded (form fields by name only).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub step: Step,
    pub status: u16,
    pub fault: Option<String>,
    pub client_request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub user_agent: Option<String>,
    pub ms_since_start: u128,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub client_id: String,
    pub object_id: String,
    #[serde(default)]
    pub secret: Option<String>,
    /// Certificates (PEM) whose keys may sign client assertions for this principal.
    #[serde(default)]
    pub certificates: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub display_name: String,
    pub tenant_id: String,
    /// Registration state of resource providers by namespace (lower case).
    #[serde(default)]
    pub providers: BTreeMap<String, String>,
}

/// A device authorization in progress.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub client_id: String,
    /// The ARM audience the device code's scope asked for; its token carries it.
    pub audience: &'static str,
    pub user_code: String,
    pub expires: Instant,
    pub interval: Duration,
    pub polls: u32,
    pub last_poll: Option<Instant>,
    /// The interval after `slow_down` answers.
    pub slowed: bool,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub polls_left: u32,
    pub started: String,
    /// The machine to remove when the operation completes.
    pub machine_key: (String, String, String),
}

/// Settings a scenario may change (also through the admin endpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Lifetime of issued tokens; 0 or less issues already-expired tokens.
    pub token_lifetime_secs: i64,
    /// GETs of a registering provider before it reports Registered.
    pub registration_polls: u32,
    /// Status polls before a delete operation completes.
    pub lro_polls: u32,
    /// `Retry-After` on 202 answers of long-running operations.
    pub lro_retry_after_secs: u64,
    /// ARM writes allowed per second per subscription (429 + Retry-After beyond); 0 = no limit.
    pub throttle_writes_per_sec: u32,
    /// Whether the fake IMDS says this machine is an Azure VM.
    pub azure_vm: bool,
    /// What the user does with a device code: "approve", "decline", or "ignore" (it expires).
    pub device_code_outcome: String,
    /// Polls answered `authorization_pending` before the outcome.
    pub device_code_pending_polls: u32,
    /// The polling interval the device code response asks for.
    pub device_code_interval_secs: u64,
    /// Lifetime of a device code.
    pub device_code_expires_secs: u64,
    /// Answer the first poll with `slow_down`.
    pub device_code_slow_down_first: bool,
    /// Delay of every check endpoint's answer.
    pub check_delay_ms: u64,
    /// Seconds the fake's clock (its `Date` headers) is ahead of the real one (negative: behind).
    pub clock_offset_secs: i64,
    /// The regional HIS prefix discovery names for every location (default: per region).
    pub his_region_code: Option<String>,
    /// What the fake HIMDS says about the agent: status (Connected, Disconnected, Expired),
    /// version and last error.
    pub himds_status: String,
    pub himds_agent_version: String,
    pub himds_error_code: String,
    pub himds_error_details: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_lifetime_secs: 3600,
            registration_polls: 2,
            lro_polls: 2,
            lro_retry_after_secs: 0,
            throttle_writes_per_sec: 0,
            azure_vm: false,
            device_code_outcome: "approve".to_string(),
            device_code_pending_polls: 2,
            device_code_interval_secs: 1,
            device_code_expires_secs: 900,
            device_code_slow_down_first: false,
            check_delay_ms: 0,
            clock_offset_secs: 0,
            his_region_code: None,
            himds_status: "Connected".to_string(),
            himds_agent_version: "1.50.02893.2181".to_string(),
            himds_error_code: String::new(),
            himds_error_details: String::new(),
        }
    }
}

pub struct World {
    pub started: Instant,
    pub tenant_id: String,
    pub settings: Settings,
    pub principals: Vec<ServicePrincipal>,
    pub subscriptions: Vec<Subscription>,
    /// (subscription, resource group lower case) → (name, location).
    pub resource_groups: HashMap<(String, String), (String, String)>,
    /// (subscription, resource group lower case, machine name lower case) → machine resource.
    pub machines: HashMap<(String, String, String), Value>,
    pub operations: HashMap<String, Operation>,
    /// Arc gateways: (subscription, resource group, name), all lower case → resource.
    pub gateways: HashMap<(String, String, String), Value>,
    /// A machine's `settings/default` (its gateway association), by machine key.
    pub machine_settings: HashMap<(String, String, String), Value>,
    /// A machine's Automanage configuration profile assignment, by machine key.
    pub automanage: HashMap<(String, String, String), Value>,
    /// DNS records by name (lower case, no trailing dot).
    pub dns: HashMap<String, crate::check::DnsRecord>,
    /// Names the DNS server was asked for, and the CONNECT targets the proxies saw.
    pub dns_log: Vec<String>,
    pub proxy_log: Vec<String>,
    /// The machine created or updated last: the one the fake HIMDS describes.
    pub last_machine: Option<(String, String, String)>,
    /// Device codes handed out, by device code.
    pub device_codes: HashMap<String, DeviceAuthorization>,
    /// (subscription, namespace) of providers being registered → GETs left before Registered.
    pub registering: HashMap<(String, String), u32>,
    pub faults: Vec<Fault>,
    pub requests: Vec<LoggedRequest>,
    /// Recent write times per subscription, for the write throttle.
    pub writes: HashMap<String, VecDeque<Instant>>,
}

pub fn new_guid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:x}{:02x}-{:x}{:x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 0x0f, b[7], 8 | (b[8] & 0x3), b[8] >> 4, b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

impl World {
    pub fn new(tenant_id: String) -> Self {
        Self {
            started: Instant::now(),
            tenant_id,
            settings: Settings::default(),
            principals: Vec::new(),
            subscriptions: Vec::new(),
            resource_groups: HashMap::new(),
            machines: HashMap::new(),
            operations: HashMap::new(),
            registering: HashMap::new(),
            device_codes: HashMap::new(),
            gateways: HashMap::new(),
            machine_settings: HashMap::new(),
            automanage: HashMap::new(),
            dns: HashMap::new(),
            dns_log: Vec::new(),
            proxy_log: Vec::new(),
            last_machine: None,
            faults: Vec::new(),
            requests: Vec::new(),
            writes: HashMap::new(),
        }
    }

    /// Takes the next fault for `step`, if any is armed.
    pub fn take_fault(&mut self, step: Step) -> Option<FaultKind> {
        let at = self
            .faults
            .iter()
            .position(|f| f.step == step && f.times > 0)?;
        let fault = &mut self.faults[at];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.faults.remove(at);
        }
        Some(kind)
    }

    /// Counts an ARM write for a subscription; `Some(wait)` when it is over the limit.
    pub fn throttle_write(&mut self, subscription: &str) -> Option<Duration> {
        let limit = self.settings.throttle_writes_per_sec as usize;
        if limit == 0 {
            return None;
        }
        let now = Instant::now();
        let window = self
            .writes
            .entry(subscription.to_ascii_lowercase())
            .or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= limit {
            let oldest = *window.front().expect("window is full");
            return Some(Duration::from_secs(1).saturating_sub(now.duration_since(oldest)));
        }
        window.push_back(now);
        None
    }

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions
            .iter()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
    }

    pub fn subscription_mut(&mut self, id: &str) -> Option<&mut Subscription> {
        self.subscriptions
            .iter_mut()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
    }
}
