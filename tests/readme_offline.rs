//! README's examples, copied as they are after `. fake.env` (README: "The fake Azure cloud"),
//! talk to the fake and never to Azure. They run where only loopback exists (`unshare -n`, lo
//! up) with the system resolver pointed at a loopback DNS server that writes down every name it
//! is asked for: none may be a public name. The only names allowed are the admin's own servers
//! the remoting examples name (srv1…, web01…), which a real admin's DNS would know.
//! The onboarding examples (sh) and the module's examples (PowerShell) are taken from README
//! itself, so an example added later is checked too. Linux only: network and mount namespaces.
#![cfg(target_os = "linux")]

mod common;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The fenced blocks of one language in README's section that starts with `heading`.
fn blocks(readme: &str, heading: &str, language: &str) -> Vec<String> {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no section {heading}"));
    let rest = &readme[start + heading.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let fence = format!("```{language}\n");
    let mut found = Vec::new();
    let mut tail = section;
    while let Some(at) = tail.find(&fence) {
        let body = &tail[at + fence.len()..];
        let end = body.find("\n```").expect("a closed code block");
        found.push(body[..end].to_string());
        tail = &body[end..];
    }
    assert!(!found.is_empty(), "no {language} block under {heading}");
    found
}

/// A DNS server on 127.0.0.1:53 that answers REFUSED and writes down each name asked for.
const DNS_LOG: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
log = open(sys.argv[1], "a", buffering=1)
while True:
    data, peer = s.recvfrom(4096)
    labels, i = [], 12
    while i < len(data) and data[i] != 0:
        n = data[i]
        labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    log.write(".".join(labels) + "\n")
    flags = 0x8000 | (data[2] & 0x01) << 8 | 5
    s.sendto(data[:2] + flags.to_bytes(2, "big") + data[4:6] + b"\0\0\0\0\0\0" + data[12:i + 5], peer)
"#;

/// What a reader has set before pasting the PowerShell examples: the fake's values under the
/// names README uses, and Get-Credential answered as a person would type the secret.
const PS_PRELUDE: &str = r#"
$ErrorActionPreference = 'Continue'
Import-Module -Name $env:AZCM_TEST_MODULE
$appId = $env:FAKE_CLIENT_ID
$tenant = $env:FAKE_TENANT_ID
$sub = $env:FAKE_SUBSCRIPTION_ID
function Get-Credential {
    param([string]$UserName, [string]$Message)
    $secret = ConvertTo-SecureString -String $env:FAKE_CLIENT_SECRET -AsPlainText -Force
    New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList $UserName, $secret
}
"#;

const DRIVER: &str = r#"
set -u
W=$1
ip link set lo up
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$W/resolv.conf"
mount --bind "$W/resolv.conf" /etc/resolv.conf
python3 "$W/dnslog.py" "$W/dns.log" &
dns=$!
"$AZCM_TEST_FAKE" --print-env --dir "$W/fake" > "$W/fake.env" 2> "$W/fake.err" &
fake=$!
for _ in $(seq 200); do grep -q FAKE_DNS_SERVER "$W/fake.env" 2>/dev/null && break; sleep 0.1; done
. "$W/fake.env"
export AZCM_ROOT="$W/root" APP_ID="$FAKE_CLIENT_ID" SECRET="$FAKE_CLIENT_SECRET" TENANT="$FAKE_TENANT_ID" \
    SUBSCRIPTION="$FAKE_SUBSCRIPTION_ID"
mkdir -p "$AZCM_ROOT"
cd "$W"
timeout 180 bash "$W/examples.sh" > "$W/sh.out" 2>&1 < /dev/null
echo "sh exit $?" >> "$W/sh.out"
timeout 300 "$AZCM_TEST_PWSH" -NoProfile -NonInteractive -File "$W/examples.ps1" > "$W/ps.out" 2>&1 < /dev/null
echo "pwsh exit $?" >> "$W/ps.out"
sleep 0.5
cp "$FAKE_REQUEST_LOG" "$W/requests.json"
kill "$fake" "$dns"
"#;

#[test]
fn readme_examples_after_fake_env_resolve_no_public_name() {
    if common::windows_binary() {
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let bin = common::binary();
    let fake = bin.with_file_name("azcm-fakecloud");
    assert!(
        fake.is_file(),
        "{} is missing: `cargo test` builds it with the workspace (or cargo build -p azcm-fakecloud)",
        fake.display()
    );
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    let sh = blocks(&readme, "## Onboarding: `connect` and `disconnect`", "sh").join("\n");
    std::fs::write(w.join("examples.sh"), &sh).unwrap();
    // The module's examples, but the build and the import of the staged copy: this test
    // imports the module from the source tree instead.
    let ps: Vec<String> = blocks(&readme, "## PowerShell: the AzcmAgent module", "powershell")
        .join("\n")
        .lines()
        .filter(|l| !l.starts_with("./build.ps1") && !l.starts_with("Import-Module ./out/"))
        .map(str::to_string)
        .collect();
    std::fs::write(
        w.join("examples.ps1"),
        format!("{PS_PRELUDE}\n{}\n", ps.join("\n")),
    )
    .unwrap();
    std::fs::write(w.join("dnslog.py"), DNS_LOG).unwrap();
    std::fs::write(w.join("driver.sh"), DRIVER).unwrap();

    let out = Command::new("unshare")
        .args(["-n", "-m", "bash"])
        .arg(w.join("driver.sh"))
        .arg(w)
        .env("PATH", {
            let mut paths = vec![bin.parent().unwrap().to_path_buf()];
            paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
            std::env::join_paths(paths).unwrap()
        })
        .env("AZCM_TEST_FAKE", &fake)
        .env("AZCM_TEST_PWSH", common::pwsh::pwsh(&repo))
        .env("AZCM_BINARY", &bin)
        .env(
            "AZCM_TEST_MODULE",
            repo.join("powershell/AzcmAgent/AzcmAgent.psd1"),
        )
        .env_remove("AZCM_CLOUD")
        .env_remove("AZCM_CLOUD_FILE")
        .output()
        .expect("unshare");
    let said = |name: &str| std::fs::read_to_string(w.join(name)).unwrap_or_default();
    let record = format!(
        "driver: {}\n--- sh\n{}\n--- pwsh\n{}",
        String::from_utf8_lossy(&out.stderr),
        said("sh.out"),
        said("ps.out")
    );
    assert!(out.status.success(), "{record}");

    // The admin's own servers, as the remoting examples name them; nothing else.
    let own = ["srv1", "srv2", "srv3", "web01", "web02", "web03"];
    let asked = said("dns.log");
    let public: Vec<&str> = asked
        .lines()
        .filter(|name| !own.contains(&name.to_ascii_lowercase().as_str()))
        .collect();
    assert!(
        public.is_empty(),
        "names asked of DNS: {public:?}\n{record}"
    );

    // The examples did reach the fake: both the sh connect and the module's connect made a
    // machine, and nothing crashed.
    let requests: Value = serde_json::from_str(&said("requests.json")).expect("the fake's log");
    let puts: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["path"].as_str().unwrap_or("").contains("/machines/"))
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert!(puts.len() >= 2, "machine PUTs: {puts:?}\n{record}");
    assert!(!record.contains("AZCM0001"), "{record}");
}
