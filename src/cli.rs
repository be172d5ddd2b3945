//! The command-line surface: every command, flag, alias and value set azcm accepts.
//! The PowerShell contract test reads this same definition through [`command`].

use crate::settings;
use clap::builder::PossibleValuesParser;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "azcm",
    bin_name = "azcm",
    about = "Azure Connected Machine agent CLI (azcmagent-compatible), with a JSON contract for scripts",
    long_about = "azcm manages the Azure Connected Machine (Azure Arc) agent on this machine. \
Every command prints a human view by default and exactly one JSON document with --json.",
    disable_help_subcommand = true,
    version,
    subcommand_required = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, as azcmagent has them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// JSON or YAML file mapping long flag names to values; the command line wins
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print exactly one JSON document on stdout (docs/json)
    #[arg(short = 'j', long, global = true)]
    pub json: bool,
    /// Send verbose, warning, progress and error messages to stderr (JSON lines with --json)
    #[arg(long, global = true)]
    pub log_stderr: bool,
    /// Disable coloured output
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Show more detailed logging while the command runs
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check this machine can reach every Azure Arc endpoint (DNS, TCP, proxy, TLS, HTTP)
    #[command(
        long_about = "Check, concurrently and stage by stage (DNS, private-link rule, TCP or the \
proxy/gateway hop, TLS, HTTP), every endpoint the agent needs in the cloud and region: the connected \
ones by default. Any HTTP answer means reachable. Exit 0 when every required endpoint is reachable, \
else AZCM0026 with every result in the error's details.",
        after_help = "Examples:\n  azcm check                       # the connected cloud and region\n  azcm check -l westeurope -e sql  # before onboarding, with SQL Server\u{2019}s endpoints\n  azcm check -l westeurope -p      # private link: capable endpoints must resolve privately"
    )]
    Check(CheckArgs),
    /// Change or show the agent's local configuration settings
    #[command(subcommand_required = true, arg_required_else_help = false)]
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Connect this machine to Azure Arc
    #[command(
        long_about = "Connect this machine to Azure Arc: create (or adopt) its \
Microsoft.HybridCompute/machines resource and write the agent configuration. Secrets can come \
from stdin (a value of -), an environment variable or the --config file instead of the command \
line. --what-if checks everything without changing anything.",
        after_help = "Examples:\n  # a service principal, the secret on stdin\n  printf %s \"$SECRET\" | azcm connect -i APP_ID -p - -t TENANT_ID -s SUBSCRIPTION -g HybridServers -l westeurope --tags env=prod\n  # a person at the keyboard (device code), checking first what would change\n  azcm connect -s SUBSCRIPTION -g HybridServers -l westeurope --what-if\n  # everything from one file, the secret included (keep it owner-only)\n  azcm connect --config onboard.yaml"
    )]
    Connect(Box<ConnectArgs>),
    /// Disconnect this machine from Azure Arc
    #[command(
        long_about = "Delete this machine's Azure resource (waiting for ARM to finish) and \
reset the local agent configuration and key. --force-local-only skips Azure.",
        after_help = "Examples:\n  printf %s \"$SECRET\" | azcm disconnect -i APP_ID -p - -t TENANT_ID\n  azcm disconnect --use-device-code\n  # the resource is already gone (or will be deleted in Azure): reset this machine only\n  azcm disconnect --force-local-only"
    )]
    Disconnect(Box<DisconnectArgs>),
    /// Generate the RSA key pair for a later connect; prints the public key
    #[command(
        long_about = "Generate an RSA-2048 key pair for onboarding. The public key is printed as \
base64 DER (PKCS#1), the format ARM's clientPublicKey carries; the private key stays in the agent's \
Certs folder, readable only by administrators, and is never printed."
    )]
    Genkey,
    /// Show this machine's Azure Arc state: resource, agent status, services, proxy, hardware
    #[command(
        long_about = "Show what the agent knows about this machine: its Azure resource (from \
agentconfig.json, else the local HIMDS), the agent's status and last heartbeat (HIMDS), the \
proxy and gateway settings, the services, the hardware and the portal page. Name properties \
(display names or JSON keys) to show only those. --arm also reads the resource from Azure \
Resource Manager and names where the cloud and this machine disagree."
    )]
    Show(ShowArgs),
    /// List or remove the extensions installed on this machine
    #[command(subcommand_required = true, arg_required_else_help = false)]
    Extension {
        #[command(subcommand)]
        action: ExtensionAction,
    },
    /// Collect the agent's logs and state into a zip for support
    #[command(
        long_about = "Collect the agent's logs, its configuration, guest configuration and \
extension logs and status files, the Azure VM agent's logs when present, the agent services' \
journal (Linux) and azcm's own show and check results into one zip, with a manifest.json \
(source, size, mtime, SHA-256 of every file; every file skipped and why). Secrets are redacted \
while the files stream in, unless --no-redact. Prints the archive's path.",
        after_help = "Examples:\n  azcm logs                        # azcmagent-<time>-<computer>.zip here\n  azcm logs --full -o /tmp/        # every rotated log too, into /tmp"
    )]
    Logs(LogsArgs),
    /// Show help for any command
    Help {
        /// The command to describe, e.g. `config set`
        #[arg(value_name = "COMMAND", num_args = 0..)]
        command: Vec<String>,
    },
    /// Show the licence azcm is distributed under
    License,
    /// Show azcm's version, build target and source revision
    Version,
    /// Print shell completions (bash, zsh, fish, powershell) or the man page (man)
    #[command(
        long_about = "Print the tab-completion script for a shell, or azcm's man page (roff), both \
generated from the same definitions as this help. Install them as your shell expects, e.g. \
`azcm completions bash > /etc/bash_completion.d/azcm`, `azcm completions powershell >> $PROFILE`, \
`azcm completions man > /usr/share/man/man1/azcm.1`.",
        after_help = "Examples:\n  azcm completions bash > /etc/bash_completion.d/azcm\n  azcm completions powershell | Out-String | Invoke-Expression\n  azcm completions man | man -l -"
    )]
    Completions {
        /// bash, zsh, fish, powershell, or man
        #[arg(value_name = "SHELL", value_parser = PossibleValuesParser::new(COMPLETION_TARGETS), ignore_case = true)]
        shell: String,
    },
    /// Desired state: the DSC v3 resources Microsoft's dsc runs (Azcm/Settings)
    #[command(
        subcommand_required = true,
        arg_required_else_help = false,
        long_about = "The operations of azcm's DSC v3 command resources, as Microsoft's dsc engine \
runs them through the manifests shipped beside azcm (azcm.*.dsc.resource.json): the instance JSON \
on stdin, the resulting instance (and for test and set the differing properties) as JSON lines on \
stdout, messages as dsc's JSON trace lines on stderr, the AZCM code as the exit code. With --json, \
one JSON document instead (docs/json/dsc-settings.schema.json, dsc-connection.schema.json).",
        after_help = "Examples:\n  dsc resource get -r Azcm/Settings -i '{\"proxy.url\":null}'\n  echo '{\"proxy.url\":\"http://127.0.0.1:3128\"}' | azcm dsc settings test\n  echo '{}' | azcm dsc connection get\n  echo '{\"extensions.allowlist\":[\"Microsoft.Azure.Monitor/AzureMonitorLinuxAgent\"]}' | azcm dsc settings set --what-if"
    )]
    Dsc {
        #[command(subcommand)]
        resource: DscResource,
    },
}

/// The DSC resources azcm implements.
#[derive(Debug, Subcommand)]
pub enum DscResource {
    /// Azcm/Settings: the agent's local configuration properties a document names
    Settings(DscArgs),
    /// Azcm/Connection: connected to Azure Arc or not, and as which machine resource
    Connection(DscArgs),
}

/// One operation of a DSC resource.
#[derive(Debug, Clone, Args)]
pub struct DscArgs {
    /// get, test, set or export
    #[arg(value_name = "OPERATION", value_enum, ignore_case = true)]
    pub operation: DscOperation,
    /// With set: say what would change, change nothing (dsc's what-if)
    #[arg(long)]
    pub what_if: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DscOperation {
    Get,
    Test,
    Set,
    Export,
}

/// What `azcm completions` prints for.
pub const COMPLETION_TARGETS: &[&str] = &["bash", "zsh", "fish", "powershell", "man"];

/// How connect, disconnect and `show --arm` authenticate (one method).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Authentication (one method)")]
pub struct AuthArgs {
    /// Application (client) id of the service principal
    #[arg(short = 'i', long, value_name = "APP_ID")]
    pub service_principal_id: Option<String>,
    /// Service principal secret; `-` reads it from stdin (also AZCM_SERVICE_PRINCIPAL_SECRET)
    #[arg(short = 'p', long, value_name = "SECRET", allow_hyphen_values = true)]
    pub service_principal_secret: Option<String>,
    /// Certificate of the service principal: PEM with its private key, or unencrypted PFX
    #[arg(long, value_name = "FILE")]
    pub service_principal_cert: Option<std::path::PathBuf>,
    /// Thumbprint of the service principal's certificate in the Windows certificate store (LocalMachine\My, then CurrentUser\My); the key may be non-exportable
    #[arg(long, value_name = "THUMBPRINT")]
    pub service_principal_cert_thumbprint: Option<String>,
    /// Entra ID access token for ARM; `-` reads it from stdin (also AZCM_ACCESS_TOKEN)
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub access_token: Option<String>,
    /// Sign in on another device with a code (the default when run interactively without credentials)
    #[arg(long)]
    pub use_device_code: bool,
    /// Use the account of the Azure CLI session on this machine (`az login`)
    #[arg(long)]
    pub use_azcli: bool,
    /// Tenant the signing-in account belongs to (device code, Azure CLI), when it is not the subscription's
    #[arg(long, value_name = "TENANT_ID")]
    pub user_tenant_id: Option<String>,
    /// Tenant id of the subscription (required with a service principal)
    #[arg(short = 't', long, value_name = "TENANT_ID")]
    pub tenant_id: Option<String>,
    /// Seconds to keep retrying throttled or failing Azure calls before giving up
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub retry_timeout: u64,
}

impl AuthArgs {
    /// Whether a service principal certificate is named (a file or a store thumbprint).
    pub fn has_certificate(&self) -> bool {
        self.service_principal_cert.is_some() || self.service_principal_cert_thumbprint.is_some()
    }
}

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Subscription id or name
    #[arg(
        help_heading = "Target",
        short = 's',
        long,
        value_name = "SUBSCRIPTION"
    )]
    pub subscription_id: String,
    /// Resource group for the machine resource (created when missing)
    #[arg(
        help_heading = "Target",
        short = 'g',
        long,
        value_name = "RESOURCE_GROUP"
    )]
    pub resource_group: String,
    /// Azure region, e.g. westeurope
    #[arg(help_heading = "Target", short = 'l', long, value_name = "REGION")]
    pub location: String,
    /// Name of the machine resource (default: the host name)
    #[arg(help_heading = "Target", short = 'n', long, value_name = "NAME")]
    pub resource_name: Option<String>,
    /// Azure cloud: AzureCloud, AzureUSGovernment, AzureChinaCloud, or a custom cloud (AZCM_CLOUD_FILE)
    #[arg(help_heading = "Target", long, value_name = "CLOUD", env = crate::cloud::CLOUD_ENV, default_value = crate::cloud::DEFAULT_CLOUD)]
    pub cloud: String,
    /// Tags: Name=Value,Other='Value with spaces'
    #[arg(help_heading = "Target", long, value_name = "TAGS")]
    pub tags: Option<String>,
    /// Correlation id (a GUID) recorded with the onboarding
    #[arg(help_heading = "Target", long, value_name = "GUID")]
    pub correlation_id: Option<String>,
    /// Resource id of the Azure Arc private link scope to associate
    #[arg(help_heading = "Network", long, value_name = "RESOURCE_ID")]
    pub private_link_scope: Option<String>,
    /// Resource id of the Azure Arc gateway to route the agent's traffic through
    #[arg(help_heading = "Network", long, value_name = "RESOURCE_ID")]
    pub gateway_id: Option<String>,
    /// Resource id of the Azure Automanage configuration profile to assign
    #[arg(help_heading = "Behaviour", long, value_name = "RESOURCE_ID")]
    pub automanage_profile: Option<String>,
    /// Let the agent upgrade itself automatically (preview)
    #[arg(help_heading = "Behaviour", long)]
    pub enable_automatic_upgrade: bool,
    /// Continue even if the network check fails
    #[arg(help_heading = "Behaviour", long)]
    pub ignore_network_check: bool,
    /// Check everything and report what would change, without changing anything
    #[arg(help_heading = "Behaviour", long)]
    pub what_if: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExtensionAction {
    /// List the installed extensions: name, version, state, size
    List,
    /// Remove extensions locally (the extension service must be stopped)
    #[command(
        long_about = "Remove installed extensions from this machine: for each, run the handler's \
uninstall command (from its HandlerManifest.json, bounded by --timeout), then delete its folder. \
The extension service must be stopped first. Asks for confirmation unless --yes or --json."
    )]
    Remove(ExtensionRemoveArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["name", "all"])))]
pub struct ExtensionRemoveArgs {
    /// The extension to remove (Publisher.Type, e.g. Microsoft.Azure.Monitor.AzureMonitorLinuxAgent)
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Remove every installed extension
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Seconds each uninstall command may run before it is stopped
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Say which extensions would be removed (the name checked), and remove nothing
    #[arg(long)]
    pub what_if: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Take every log, rotated and archived ones included (default: the newest of each)
    #[arg(short = 'f', long)]
    pub full: bool,
    /// The zip to write, or a folder for it (default: azcmagent-<TIMESTAMP>-<COMPUTERNAME>.zip here)
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Keep secrets in the archive (it then needs the protection the secrets do)
    #[arg(long)]
    pub no_redact: bool,
    /// Leave out files larger than this many bytes (they are listed in the manifest)
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_file_size: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Show only these properties: display names ("Agent Status") or JSON keys (status)
    #[arg(value_name = "PROPERTY")]
    pub properties: Vec<String>,
    /// Also show the operating system's details
    #[arg(long)]
    pub os: bool,
    /// Also read the machine resource from Azure Resource Manager and compare
    #[arg(long)]
    pub arm: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Arc extensions whose extra endpoints `check --extensions` adds.
pub const CHECK_EXTENSIONS: &[&str] = &["sql", "esu"];

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Azure region to check (default: the connected one)
    #[arg(short = 'l', long, value_name = "REGION")]
    pub location: Option<String>,
    /// Azure cloud (needs --location; default: the connected one, else AZCM_CLOUD, else AzureCloud)
    #[arg(short = 'c', long, value_name = "CLOUD", requires = "location")]
    pub cloud: Option<String>,
    /// Private-link rule: private-link-capable endpoints must resolve to private addresses
    #[arg(short = 'p', long)]
    pub enable_pls_check: bool,
    /// Also check the endpoints of these Arc extensions
    #[arg(short = 'e', long, value_name = "EXTENSION", value_delimiter = ',', value_parser = PossibleValuesParser::new(CHECK_EXTENSIONS), ignore_case = true)]
    pub extensions: Vec<String>,
    /// Also check the endpoints of every Arc extension that can be checked
    #[arg(short = 'a', long)]
    pub include_all: bool,
    /// Resolve names through this DNS server instead of the system's
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub dns_server: Option<String>,
    /// Seconds each stage (DNS, TCP, proxy, TLS, HTTP) may take
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DisconnectArgs {
    /// Reset the local agent state only; leave the Azure resource alone
    #[arg(long)]
    pub force_local_only: bool,
    /// Check everything and report what would change, without changing anything
    #[arg(long)]
    pub what_if: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

fn property_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(settings::names())
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Reset a property to its default value
    Clear {
        /// The property to reset
        #[arg(value_name = "PROPERTY", value_parser = property_parser(), ignore_case = true)]
        name: String,
    },
    /// Show one property's value
    Get {
        /// The property to show
        #[arg(value_name = "PROPERTY", value_parser = property_parser(), ignore_case = true)]
        name: String,
    },
    /// Describe the properties: type, allowed values, default, description, example
    Info {
        /// Describe only this property
        #[arg(value_name = "PROPERTY", value_parser = property_parser(), ignore_case = true)]
        name: Option<String>,
    },
    /// List every property with its current value
    List,
    /// Set a property's value (lists: comma-separated; --add/--remove edit them)
    Set {
        /// The property to set
        #[arg(value_name = "PROPERTY", value_parser = property_parser(), ignore_case = true)]
        name: String,
        /// The new value; for list properties a comma-separated list
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        value: String,
        /// Append the value(s) to the list instead of replacing it
        #[arg(short = 'a', long, conflicts_with = "remove")]
        add: bool,
        /// Remove the value(s) from the list, keeping the others
        #[arg(short = 'r', long)]
        remove: bool,
    },
}

/// The clap definition, built: what tests and `help` introspect.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

impl Command {
    /// The command's name as the JSON envelope reports it (`config set`, `genkey`, ...).
    pub fn path(&self) -> String {
        match self {
            Command::Config { action } => format!("config {}", action.name()),
            Command::Check(_) => "check".into(),
            Command::Show(_) => "show".into(),
            Command::Logs(_) => "logs".into(),
            Command::Extension { action } => match action {
                ExtensionAction::List => "extension list".into(),
                ExtensionAction::Remove(_) => "extension remove".into(),
            },
            Command::Connect(_) => "connect".into(),
            Command::Disconnect(_) => "disconnect".into(),
            Command::Genkey => "genkey".into(),
            Command::Help { .. } => "help".into(),
            Command::License => "license".into(),
            Command::Version => "version".into(),
            Command::Completions { .. } => "completions".into(),
            Command::Dsc { resource } => match resource {
                DscResource::Settings(_) => "dsc settings".into(),
                DscResource::Connection(_) => "dsc connection".into(),
            },
        }
    }
}

impl ConfigAction {
    pub fn name(&self) -> &'static str {
        match self {
            ConfigAction::Clear { .. } => "clear",
            ConfigAction::Get { .. } => "get",
            ConfigAction::Info { .. } => "info",
            ConfigAction::List => "list",
            ConfigAction::Set { .. } => "set",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_consistent() {
        super::command().debug_assert();
    }
}
