//! The standalone `azcm-fakecloud` binary (what the Pester tests and demos start): its printed
//! environment and its scenario file, including client certificates registered at start.

use azcm_fakecloud::FakeCloud;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Standalone {
    child: Child,
    env: HashMap<String, String>,
    dir: PathBuf,
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("azcm-fake-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the binary with a scenario and reads the `export NAME='value'` lines it prints.
fn start(name: &str, scenario: &Value) -> Result<Standalone, String> {
    let dir = work_dir(name);
    let file = dir.join("scenario.json");
    std::fs::write(&file, scenario.to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_azcm-fakecloud"))
        .args(["--print-env", "--dir"])
        .arg(dir.join("fake"))
        .arg("--scenario")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut env = HashMap::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.insert(name.to_string(), value.trim_matches('\'').to_string());
        }
        if line.starts_with("export FAKE_DNS_SERVER=") {
            return Ok(Standalone { child, env, dir });
        }
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Err(format!("{status}: {stderr}"))
}

/// A client assertion for `client_id` at `endpoint`, signed with the PKCS #8 key.
fn assertion(cert_pem: &str, key_pem: &str, client_id: &str, endpoint: &str) -> String {
    use sha1::Digest as _;
    let body: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der))});
    let claims = json!({"aud": endpoint, "iss": client_id, "sub": client_id, "jti": "1", "nbf": now, "exp": now + 600});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::rsa::KeyPair::from_pkcs8(pem::parse(key_pem).unwrap().contents()).unwrap();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[test]
fn a_scenario_registers_client_certificates_on_the_default_principal() {
    // A certificate and key made by a throwaway fake: only the standalone one learns of it,
    // from the scenario (with Windows line ends, as PowerShell writes them).
    let (cert_pem, key_pem) = FakeCloud::start()
        .unwrap()
        .issue_client_certificate()
        .unwrap();
    let fake = start(
        "scenario-cert",
        &json!({"clientCertificates": [cert_pem.replace('\n', "\r\n")]}),
    )
    .unwrap();
    let base = fake.env["FAKE_ADMIN_URL"]
        .trim_end_matches("/_admin")
        .to_string();
    let tenant = &fake.env["FAKE_TENANT_ID"];
    let client_id = &fake.env["FAKE_CLIENT_ID"];
    let ca = std::fs::read(&fake.env["AZCM_EXTRA_CA_CERTS"]).unwrap();
    let http = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let endpoint = format!("{base}/{tenant}/oauth2/v2.0/token");
    let token = |jwt: &str| {
        http.post(&endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", jwt),
                ("scope", "https://management.core.windows.net//.default"),
            ])
            .send()
            .unwrap()
    };
    let accepted = token(&assertion(&cert_pem, &key_pem, client_id, &endpoint));
    assert_eq!(accepted.status(), 200, "{}", accepted.text().unwrap());

    // A certificate the scenario did not name is refused as Entra refuses it.
    let (other_cert, other_key) = FakeCloud::start()
        .unwrap()
        .issue_client_certificate()
        .unwrap();
    let refused = token(&assertion(&other_cert, &other_key, client_id, &endpoint));
    assert_eq!(refused.status(), 401);
    assert!(refused.text().unwrap().contains("AADSTS700027"));
}

#[test]
fn a_scenario_with_a_bad_certificate_stops_the_fake() {
    let why = start(
        "scenario-bad",
        &json!({"clientCertificates": ["not a certificate"]}),
    )
    .err()
    .expect("the fake refuses to start");
    assert!(
        why.contains("invalid client certificate in scenario"),
        "{why}"
    );
}
