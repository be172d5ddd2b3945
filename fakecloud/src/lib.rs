//! azcm-fakecloud: a fake Azure cloud on loopback for azcm's tests, benchmarks and trials.
//! HTTPS with its own CA (Entra ID token endpoint, ARM with HybridCompute machines per the
//! published spec, an admin endpoint for faults and settings) and a plain-HTTP IMDS stand-in.
//! Start it in-process with [`FakeCloud::start`], or run the `azcm-fakecloud` binary.

mod admin;
mod arm;
pub mod check;
mod entra;
mod himds;
pub mod hostile;
mod imds;
mod jwt;
mod server;
mod tls;
pub mod world;

pub use arm::{HYBRIDCOMPUTE_API_VERSIONS, WRITABLE_MACHINE_PROPERTIES};
pub use world::{Fault, FaultKind, LoggedRequest, ServicePrincipal, Settings, Step, Subscription};

use serde_json::{json, Value};
use server::Shared;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;
use world::{new_guid, World};

/// The name azcm knows the fake cloud by (in the cloud definition file the fake writes).
pub const CLOUD_NAME: &str = "AzcmFakeCloud";
/// The public client azcm signs users in with (device code): Azure CLI's well-known client id.
pub const PUBLIC_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
/// The audience ARM tokens are issued for, as in Azure's public cloud.
pub const ARM_AUDIENCE: &str = "https://management.core.windows.net/";
/// Every audience ARM accepts a token for (and Entra issues ARM tokens for): azcm and the
/// Azure CLI ask for the first, Microsoft's SDKs for the second.
pub const ARM_AUDIENCES: &[&str] = &[ARM_AUDIENCE, "https://management.azure.com/"];
/// Regions the fake cloud offers.
pub const REGIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northeurope",
    "westeurope",
    "uksouth",
    "francecentral",
    "germanywestcentral",
    "swedencentral",
    "southeastasia",
    "eastasia",
    "japaneast",
    "australiaeast",
    "canadacentral",
    "brazilsouth",
    "centralindia",
];

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A running fake cloud. Stops when dropped.
pub struct FakeCloud {
    /// `https://127.0.0.1:<port>`: Entra ID, ARM and `/_admin`.
    pub base_url: String,
    /// `http://127.0.0.1:<port>`: the IMDS stand-in.
    pub imds_url: String,
    /// `http://127.0.0.1:<port>`: the agent's local HIMDS stand-in.
    pub himds_url: String,
    /// The CA certificate (PEM) that signed the HTTPS certificate.
    pub ca_pem: String,
    pub tenant_id: String,
    pub subscription_id: String,
    pub subscription_name: String,
    /// A resource group name that does not exist yet (connect creates it).
    pub resource_group: String,
    pub location: String,
    pub client_id: String,
    pub client_secret: String,
    /// An Arc gateway that exists in the subscription (resource group `azcm-fake-gateways`).
    pub gateway_id: String,
    /// `https://localhost:<port>`: the gateway's endpoint, a forward proxy over TLS.
    pub gateway_url: String,
    /// The fake DNS server (UDP): `*.azcmfake.test` → 127.0.0.1 unless [`Self::set_dns`] says
    /// otherwise, NXDOMAIN for other names.
    pub dns_server: std::net::SocketAddr,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    ca: Arc<rcgen::CertifiedIssuer<'static, rcgen::KeyPair>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeCloud {
    /// Starts the fake on free loopback ports with a ready tenant, subscription and service
    /// principal (with a secret).
    pub fn start() -> Result<Self, BoxError> {
        let tls = tls::generate()?;
        let tenant_id = new_guid();
        let subscription_id = new_guid();
        let client_id = new_guid();
        let client_secret = format!("fake~{}", new_guid().replace('-', ""));
        let mut world = World::new(tenant_id.clone());
        world.principals.push(ServicePrincipal {
            client_id: client_id.clone(),
            object_id: new_guid(),
            secret: Some(client_secret.clone()),
            certificates: Vec::new(),
        });
        // A public client (no secret) users sign in with through the device authorization grant.
        world.principals.push(ServicePrincipal {
            client_id: PUBLIC_CLIENT_ID.to_string(),
            object_id: new_guid(),
            secret: None,
            certificates: Vec::new(),
        });
        world.subscriptions.push(Subscription {
            subscription_id: subscription_id.clone(),
            display_name: "Azcm Fake Subscription".to_string(),
            tenant_id: tenant_id.clone(),
            providers: Default::default(),
        });

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (https, imds, gateway, dns, himds) = rt.block_on(async {
            let https = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let imds = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let gateway = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let dns = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
            let himds = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            Ok::<_, std::io::Error>((https, imds, gateway, dns, himds))
        })?;
        let himds_url = format!("http://127.0.0.1:{}", himds.local_addr()?.port());
        let gateway_url = format!("https://localhost:{}", gateway.local_addr()?.port());
        let dns_server = dns.local_addr()?;
        let base_url = format!("https://127.0.0.1:{}", https.local_addr()?.port());
        let imds_url = format!("http://127.0.0.1:{}", imds.local_addr()?.port());
        let gateway_id = format!(
            "/subscriptions/{subscription_id}/resourceGroups/azcm-fake-gateways/providers/Microsoft.HybridCompute/gateways/azcm-fake-gateway"
        );
        world.gateways.insert(
            (subscription_id.to_ascii_lowercase(), "azcm-fake-gateways".into(), "azcm-fake-gateway".into()),
            json!({
                "id": gateway_id,
                "name": "azcm-fake-gateway",
                "type": "Microsoft.HybridCompute/gateways",
                "location": "westeurope",
                "properties": {"gatewayType": "Public", "gatewayEndpoint": gateway_url, "allowedFeatures": ["*"], "provisioningState": "Succeeded"},
            }),
        );
        let shared = Arc::new(Shared {
            world: std::sync::Mutex::new(world),
            signer: jwt::Signer::new(),
            base_url: base_url.clone(),
            audience: ARM_AUDIENCE.to_string(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config.clone());
        let serving = shared.clone();
        let runtime = rt.handle().clone();
        let thread = std::thread::Builder::new()
            .name("azcm-fakecloud".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        _ = server::serve_tls(https, acceptor.clone(), serving.clone()) => {}
                        _ = server::serve_plain(imds, serving.clone()) => {}
                        _ = check::serve_proxy(gateway, None, Some(acceptor), serving.clone()) => {}
                        _ = check::serve_dns(dns, serving.clone()) => {}
                        _ = himds::serve(himds, serving) => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_background();
            })?;
        Ok(Self {
            base_url,
            imds_url,
            himds_url,
            ca_pem: tls.ca_pem,
            tenant_id,
            subscription_id,
            subscription_name: "Azcm Fake Subscription".to_string(),
            resource_group: "azcm-fake-rg".to_string(),
            location: "westeurope".to_string(),
            client_id,
            client_secret,
            gateway_id,
            gateway_url,
            dns_server,
            shared,
            runtime,
            ca: tls.ca,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn admin_url(&self) -> String {
        format!("{}/_admin", self.base_url)
    }

    /// The cloud definition azcm reads (docs/cloud-file.md) for this fake: Entra ID and ARM on
    /// its HTTPS listener, and a check catalogue of the same shape as Azure's on
    /// `https://localhost:<port>/arc/...` (resolvable without the fake DNS server).
    pub fn cloud_definition(&self) -> Value {
        self.cloud_definition_on(&self.base_url.replace("127.0.0.1", "localhost"))
    }

    /// The same cloud with its check endpoints on `base` (e.g. `https://{}.azcmfake.test:<port>`
    /// names the fake DNS server resolves: `{}` is replaced by each endpoint's host label).
    pub fn cloud_definition_on(&self, base: &str) -> Value {
        let at = |label: &str, path: &str| format!("{}{path}", base.replace("{}", label));
        let entry = |id: &str,
                     use_case: &str,
                     label: &str,
                     path: &str,
                     category: &str,
                     private_link: bool,
                     gateway: bool| {
            json!({"id": id, "useCase": use_case, "url": at(label, path), "category": category, "required": true, "privateLink": private_link, "gateway": gateway})
        };
        let his_regions: serde_json::Map<String, Value> = REGIONS
            .iter()
            .filter_map(|r| check::his_code(r).map(|c| (r.to_string(), json!(c))))
            .collect();
        let mut storage = entry(
            "extensionDownload",
            "Extension download (Azure Storage)",
            "storage",
            "/arc/storage/{hisRegion}",
            "Arc",
            false,
            true,
        );
        storage["notWithPrivateLink"] = json!(true);
        let mut sql = entry(
            "sqlTelemetry",
            "SQL Server enabled by Azure Arc (telemetry)",
            "sql",
            "/arc/sql/{region}",
            "ArcData",
            false,
            true,
        );
        sql["extension"] = json!("sql");
        json!({
            "clouds": [{
                "name": CLOUD_NAME,
                "authority": self.base_url,
                "resourceManager": self.base_url,
                "audience": ARM_AUDIENCE,
                "portal": format!("{}/portal", self.base_url),
                "regions": REGIONS,
                "hisDiscovery": at("gbl-his", "/discovery?location={region}"),
                "hisRegions": his_regions,
                "endpoints": [
                    entry("entraId", "Entra ID", "login", "/arc/login", "AAD", false, false),
                    entry("resourceManager", "Azure Resource Manager", "management", "/arc/management", "ARM", false, false),
                    entry("hisGlobal", "Hybrid Identity Service (global)", "gbl-his", "/his/gbl", "Arc", true, false),
                    entry("hisRegional", "Hybrid Identity Service (regional)", "{hisRegion}-his", "/his/{hisRegion}", "Arc", true, true),
                    entry("guestConfiguration", "Guest configuration", "agentserviceapi-gc", "/arc/guestconfiguration", "Arc", true, true),
                    entry("guestConfigurationRegional", "Guest configuration (regional)", "{region}-gas-gc", "/arc/{region}-gas", "Arc", true, true),
                    entry("guestNotification", "Guest notification service", "gns", "/arc/guestnotification", "Arc", false, true),
                    storage,
                    sql,
                ],
            }]
        })
    }

    /// Sets the fake DNS server's answer for `name`.
    pub fn set_dns(&self, name: &str, record: check::DnsRecord) {
        self.shared
            .world()
            .dns
            .insert(name.trim_end_matches('.').to_ascii_lowercase(), record);
    }

    /// Names the DNS server was asked for, and the CONNECT targets the proxies saw.
    pub fn dns_log(&self) -> Vec<String> {
        self.shared.world().dns_log.clone()
    }

    pub fn proxy_log(&self) -> Vec<String> {
        self.shared.world().proxy_log.clone()
    }

    /// Starts a forward proxy (plain HTTP CONNECT) on loopback, demanding Basic credentials
    /// when `auth` is given; returns its URL (without credentials).
    pub fn start_proxy(&self, auth: Option<check::ProxyAuth>) -> Result<String, BoxError> {
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        self.runtime.spawn(check::serve_proxy(
            listener,
            auth,
            None,
            self.shared.clone(),
        ));
        Ok(url)
    }

    /// Starts a misbehaving server on loopback; returns its port.
    pub fn start_misbehaving(&self, kind: check::Misbehaviour) -> Result<u16, BoxError> {
        let config = match kind {
            check::Misbehaviour::UntrustedCa => Some(tls::server_config(&tls::other_ca()?, false)?),
            check::Misbehaviour::ExpiredCertificate => Some(tls::server_config(&self.ca, true)?),
            _ => None,
        };
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let port = listener.local_addr()?.port();
        self.runtime.spawn(check::serve_misbehaving(
            listener,
            kind,
            config.map(tokio_rustls::TlsAcceptor::from),
            self.shared.clone(),
        ));
        Ok(port)
    }

    /// Starts a hostile HTTPS server on loopback (certificate from this fake's CA) that gives
    /// every request the same answer, and counts them.
    pub fn start_hostile(
        &self,
        answer: hostile::Hostile,
    ) -> Result<hostile::HostileServer, BoxError> {
        let config = tls::server_config(&self.ca, false)?;
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        self.runtime.spawn(hostile::serve(
            listener,
            tokio_rustls::TlsAcceptor::from(config),
            answer,
            requests.clone(),
        ));
        Ok(hostile::HostileServer { url, requests })
    }

    /// Writes the cloud definition (`clouds.json`) and the CA certificate (`fakecloud-ca.pem`)
    /// into `dir`; returns their paths.
    pub fn write_files(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let cloud_file = dir.join("clouds.json");
        let ca_file = dir.join("fakecloud-ca.pem");
        std::fs::write(
            &cloud_file,
            serde_json::to_vec_pretty(&self.cloud_definition())?,
        )?;
        std::fs::write(&ca_file, &self.ca_pem)?;
        Ok((cloud_file, ca_file))
    }

    /// The environment azcm needs to use this fake, given the files from [`Self::write_files`].
    pub fn azcm_env(&self, cloud_file: &Path, ca_file: &Path) -> Vec<(String, String)> {
        vec![
            ("AZCM_CLOUD_FILE".into(), cloud_file.display().to_string()),
            ("AZCM_EXTRA_CA_CERTS".into(), ca_file.display().to_string()),
            ("AZCM_IMDS_ENDPOINT".into(), self.imds_url.clone()),
            ("AZCM_HIMDS_ENDPOINT".into(), self.himds_url.clone()),
            // The default cloud of `connect`: examples copied without --cloud reach the fake.
            ("AZCM_CLOUD".into(), CLOUD_NAME.into()),
        ]
    }

    /// The variables describing the ready test tenant (for scripts and Pester).
    pub fn fake_env(&self) -> Vec<(String, String)> {
        vec![
            ("FAKE_CLOUD".into(), CLOUD_NAME.into()),
            ("FAKE_LOCATION".into(), self.location.clone()),
            ("FAKE_TENANT_ID".into(), self.tenant_id.clone()),
            ("FAKE_SUBSCRIPTION_ID".into(), self.subscription_id.clone()),
            (
                "FAKE_SUBSCRIPTION_NAME".into(),
                self.subscription_name.clone(),
            ),
            ("FAKE_RESOURCE_GROUP".into(), self.resource_group.clone()),
            ("FAKE_CLIENT_ID".into(), self.client_id.clone()),
            ("FAKE_CLIENT_SECRET".into(), self.client_secret.clone()),
            ("FAKE_GATEWAY_ID".into(), self.gateway_id.clone()),
            ("FAKE_ADMIN_URL".into(), self.admin_url()),
            ("FAKE_DNS_SERVER".into(), self.dns_server.to_string()),
        ]
    }

    /// An ARM access token for the default service principal, as the token endpoint would
    /// issue it (for tests of `--access-token`).
    pub fn issue_token(&self) -> String {
        let world = self.shared.world();
        let principal = world.principals.first().expect("a principal").clone();
        let now = entra::now_secs();
        let lifetime = world.settings.token_lifetime_secs;
        self.shared.signer.sign(&json!({
            "aud": ARM_AUDIENCE,
            "iss": format!("https://sts.windows.net/{}/", world.tenant_id),
            "iat": now,
            "nbf": now - 300,
            "exp": now + lifetime,
            "tid": world.tenant_id,
            "oid": principal.object_id,
            "sub": principal.object_id,
            "appid": principal.client_id,
        }))
    }

    /// A new RSA-2048 client certificate registered on the default service principal, as
    /// (certificate PEM, PKCS#8 private key PEM).
    pub fn issue_client_certificate(&self) -> Result<(String, String), BoxError> {
        use aws_lc_rs::encoding::AsDer;
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)?;
        let key_pem = pem::encode_config(
            &pem::Pem::new("PRIVATE KEY", key.as_der()?.as_ref().to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        );
        let key_pair =
            rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "azcm onboarding test principal");
        let cert_pem = params.self_signed(&key_pair)?.pem();
        self.register_client_certificate(&cert_pem)?;
        Ok((cert_pem, key_pem))
    }

    /// Registers a certificate (PEM) on the default service principal: its key may then sign
    /// client assertions, e.g. a key that never leaves a Windows certificate store.
    pub fn register_client_certificate(&self, cert_pem: &str) -> Result<(), BoxError> {
        use x509_cert::der::Decode;
        let der = entra::pem_block(cert_pem).map_err(|()| "expected a PEM CERTIFICATE block")?;
        x509_cert::Certificate::from_der(&der)?;
        self.shared.world().principals[0]
            .certificates
            .push(cert_pem.to_string());
        Ok(())
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared.world().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.world().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.world().requests.clear();
    }

    pub fn settings(&self) -> Settings {
        self.shared.world().settings.clone()
    }

    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.shared.world().settings);
    }

    /// All machine resources the fake holds.
    pub fn machines(&self) -> Vec<Value> {
        self.shared.world().machines.values().cloned().collect()
    }

    /// A machine's gateway association (`settings/default`) and Automanage assignment, if any.
    pub fn machine_children(&self, name: &str) -> (Option<Value>, Option<Value>) {
        let world = self.shared.world();
        let key = world
            .machines
            .keys()
            .find(|k| k.2.eq_ignore_ascii_case(name))
            .cloned();
        match key {
            Some(k) => (
                world.machine_settings.get(&k).cloned(),
                world.automanage.get(&k).cloned(),
            ),
            None => (None, None),
        }
    }

    /// Replaces a machine resource's tags, as someone would in the portal (no request logged);
    /// whether the machine exists.
    pub fn set_machine_tags(&self, name: &str, tags: Value) -> bool {
        let mut world = self.shared.world();
        match world
            .machines
            .iter_mut()
            .find(|(k, _)| k.2.eq_ignore_ascii_case(name))
        {
            Some((_, machine)) => {
                machine["tags"] = tags;
                true
            }
            None => false,
        }
    }

    /// Marks a resource provider registered (or not) in the default subscription.
    pub fn set_provider_state(&self, namespace: &str, state: &str) {
        let mut world = self.shared.world();
        let id = self.subscription_id.clone();
        if let Some(sub) = world.subscription_mut(&id) {
            sub.providers
                .insert(namespace.to_ascii_lowercase(), state.to_string());
        }
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
