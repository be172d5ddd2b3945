//! The packages admins deploy, proven by installing them: the MSI under Wine (fresh prefix,
//! install, upgrade, same-version reinstall, refused downgrade, uninstall), the .deb with dpkg
//! on this machine (lintian, install, the module imported by PowerShell 7, remove, purge), the
//! .rpm read with `rpm -qp` and installed into a scratch root, Authenticode signing with a
//! throwaway CA, the SBOMs and SHA256SUMS.
//!
//! All but the version check need what `scripts/package.sh` built (AZCM_DIST names its folder),
//! root, Wine and the Debian tools, and they install software on this machine: they are
//! ignored by a plain `cargo test` and run by `scripts/package-tests.sh` (CI).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Cargo.toml's version: the one number every package and `azcm version` carry.
fn cargo_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn module_manifest_version(psd1: &Path) -> String {
    let text = std::fs::read_to_string(psd1).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("ModuleVersion"))
        .unwrap_or_else(|| panic!("no ModuleVersion in {}", psd1.display()));
    line.split('\'').nth(1).unwrap().to_string()
}

#[test]
fn one_version_in_cargo_toml_the_module_manifest_and_azcm_version() {
    let psd1 = common::repo_root().join("powershell/AzcmAgent/AzcmAgent.psd1");
    assert_eq!(module_manifest_version(&psd1), cargo_version());
    let run = common::Azcm::new().json(&["version"]);
    assert_eq!(
        run.doc()["result"]["version"],
        cargo_version(),
        "{}",
        run.stdout
    );
}

fn dist() -> PathBuf {
    let dir = std::env::var_os("AZCM_DIST").map(PathBuf::from).expect(
        "AZCM_DIST names the folder scripts/package.sh built (scripts/package-tests.sh sets it)",
    );
    assert!(
        dir.join("SHA256SUMS").is_file(),
        "{} has no SHA256SUMS",
        dir.display()
    );
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `root`, by relative path, with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

/// The module as build staged it (scripts/package.sh ran stage-module.sh), without the binaries
/// (each package installs one azcm, which the module finds) and, where given, without share/.
fn staged_module(without_share: bool) -> BTreeMap<String, Vec<u8>> {
    let stage = common::repo_root().join(format!("out/AzcmAgent/{}", cargo_version()));
    tree(&stage)
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("bin/"))
        .filter(|(rel, _)| !(without_share && rel.starts_with("share/")))
        .collect()
}

fn package_sh(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(common::repo_root().join("scripts/package.sh"));
    // The packaged build where scripts/package-tests.sh keeps it (CI: the demo's release build).
    if let Some(dir) = std::env::var_os("AZCM_PACKAGE_TARGET_DIR") {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    cmd.args(args)
        .env_remove("AZCM_SIGN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn assert_built(out: &Output) {
    assert!(
        out.status.success(),
        "package.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One version lower than `v`: 0.1.0 → 0.0.9, 1.2.3 → 1.2.2.
fn lower(v: &str) -> String {
    let p: Vec<u32> = v.split('.').map(|x| x.parse().unwrap()).collect();
    match (p[0], p[1], p[2]) {
        (a, b, c) if c > 0 => format!("{a}.{b}.{}", c - 1),
        (a, b, _) if b > 0 => format!("{a}.{}.9", b - 1),
        (a, _, _) => format!("{}.9.9", a - 1),
    }
}

#[test]
#[ignore = "needs scripts/package.sh's dist (AZCM_DIST): scripts/package-tests.sh"]
fn sha256sums_cover_every_package_and_the_versions_agree() {
    let dist = dist();
    let v = cargo_version();
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    for name in [
        format!("azcm-{v}-x64.msi"),
        format!("azcm_{v}_amd64.deb"),
        format!("azcm-{v}-1.x86_64.rpm"),
        format!("AzcmAgent.{v}.nupkg"),
        format!("azcm-{v}-linux-x64.cdx.json"),
        format!("azcm-{v}-win-x64.cdx.json"),
    ] {
        assert!(
            sums.lines().any(|l| l.ends_with(&format!("  {name}"))),
            "{name} not in SHA256SUMS:\n{sums}"
        );
    }
    ok(Command::new("sha256sum")
        .arg("--check")
        .arg("--strict")
        .arg("SHA256SUMS")
        .current_dir(&dist));

    // The same number in each package's own metadata.
    let msi = dist.join(format!("azcm-{v}-x64.msi"));
    let props = ok(Command::new("msiinfo")
        .args(["export"])
        .arg(&msi)
        .arg("Property"));
    assert!(
        props.lines().any(|l| l == format!("ProductVersion\t{v}")),
        "{props}"
    );
    let deb = dist.join(format!("azcm_{v}_amd64.deb"));
    assert_eq!(
        ok(Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&deb)
            .arg("Version"))
        .trim(),
        v
    );
    let rpm = dist.join(format!("azcm-{v}-1.x86_64.rpm"));
    assert_eq!(
        ok(Command::new("rpm")
            .args(["-qp", "--qf", "%{VERSION}"])
            .arg(&rpm))
        .trim(),
        v
    );
    let nupkg = std::fs::File::open(dist.join(format!("AzcmAgent.{v}.nupkg"))).unwrap();
    let mut zip = zip::ZipArchive::new(nupkg).unwrap();
    let mut nuspec = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("AzcmAgent.nuspec").unwrap(), &mut nuspec)
        .unwrap();
    assert!(
        nuspec.contains(&format!("<version>{v}</version>")),
        "{nuspec}"
    );
    // The gallery module carries both binaries; the Windows one is the MSI's azcm.exe.
    for name in [
        "bin/linux-x64/azcm",
        "bin/win-x64/azcm.exe",
        "AzcmAgent.psd1",
    ] {
        assert!(zip.by_name(name).is_ok(), "{name} not in the nupkg");
    }
}

#[test]
#[ignore = "needs scripts/package.sh's dist (AZCM_DIST): scripts/package-tests.sh"]
fn each_sbom_lists_what_its_binary_compiles_in() {
    let dist = dist();
    let v = cargo_version();
    let mut names = BTreeMap::new();
    for os in ["linux", "win"] {
        let path = dist.join(format!("azcm-{v}-{os}-x64.cdx.json"));
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], "1.5");
        assert_eq!(doc["metadata"]["component"]["name"], "azcm");
        assert_eq!(doc["metadata"]["component"]["version"], v.as_str());
        let components: Vec<String> = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert!(c["purl"].as_str().unwrap().starts_with("pkg:cargo/"), "{c}");
                assert!(c["version"].is_string(), "{c}");
                c["name"].as_str().unwrap().to_string()
            })
            .collect();
        for dep in [
            "reqwest",
            "rustls",
            "azure_identity",
            "clap",
            "tokio",
            "serde_json",
        ] {
            assert!(components.iter().any(|c| c == dep), "{os}: no {dep}");
        }
        // Dev-dependencies are not compiled into azcm.
        for dev in [
            "jsonschema",
            "tree-sitter-pwsh",
            "azcm-fakecloud",
            "tempfile",
        ] {
            assert!(
                !components.iter().any(|c| c == dev),
                "{os}: lists dev-dependency {dev}"
            );
        }
        names.insert(os, components);
    }
    // Each for its own target: Windows' own crates only in the Windows SBOM.
    assert!(names["win"].iter().any(|c| c == "windows-sys"));
    assert!(!names["linux"].iter().any(|c| c == "windows-sys"));
}

/// A throwaway CA and a code-signing certificate it issued, as a password-protected PFX.
struct SigningCa {
    dir: tempfile::TempDir,
}

impl SigningCa {
    const PASSWORD: &'static str = "pfx pass; with spaces & $dollar";

    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let openssl = |args: &[&str]| ok(Command::new("openssl").args(args).current_dir(d));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=azcm test CA",
        ]);
        std::fs::write(
            d.join("ext.cnf"),
            "extendedKeyUsage=codeSigning\nkeyUsage=digitalSignature\n",
        )
        .unwrap();
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "sign.key",
            "-out",
            "sign.csr",
            "-subj",
            "/CN=azcm test signer",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "sign.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "sign.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        let pass = format!("pass:{}", Self::PASSWORD);
        openssl(&[
            "pkcs12",
            "-export",
            "-inkey",
            "sign.key",
            "-in",
            "sign.pem",
            "-certfile",
            "ca.pem",
            "-out",
            "sign.pfx",
            "-passout",
            &pass,
        ]);
        SigningCa { dir }
    }

    fn pfx(&self) -> PathBuf {
        self.dir.path().join("sign.pfx")
    }

    fn verify(&self, file: &Path) -> Output {
        run(Command::new("osslsigncode")
            .args(["verify", "-CAfile"])
            .arg(self.dir.path().join("ca.pem"))
            .arg("-in")
            .arg(file))
    }
}

/// azcm.exe as the MSI carries it.
fn exe_in_msi(msi: &Path, into: &Path) -> PathBuf {
    ok(Command::new("msiextract").arg("-C").arg(into).arg(msi));
    let exe = into.join("azcm/azcm.exe");
    assert!(
        exe.is_file(),
        "no azcm.exe in {}: {:?}",
        msi.display(),
        tree(into).keys().collect::<Vec<_>>()
    );
    exe
}

#[test]
#[ignore = "builds packages with scripts/package.sh: scripts/package-tests.sh"]
fn signing_with_a_pfx_signs_azcm_exe_and_the_msi_and_a_tampered_copy_fails() {
    let ca = SigningCa::new();
    let work = tempfile::tempdir().unwrap();
    let pfx = ca.pfx();
    let pfx = pfx.to_str().unwrap();

    // The password from the environment.
    let signed = work.path().join("signed");
    let out = package_sh(
        &[
            "--only",
            "msi",
            "--out",
            signed.to_str().unwrap(),
            "--sign-pfx",
            pfx,
        ],
        &[("AZCM_SIGN_PASSWORD", SigningCa::PASSWORD)],
        None,
    );
    assert_built(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(SigningCa::PASSWORD), "{stderr}");
    let msi = signed.join(format!("azcm-{}-x64.msi", cargo_version()));
    let verified = ca.verify(&msi);
    assert!(
        verified.status.success(),
        "MSI: {}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let exe = exe_in_msi(&msi, &work.path().join("extracted"));
    let verified = ca.verify(&exe);
    assert!(
        verified.status.success(),
        "azcm.exe: {}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // A byte changed in the signed code: the signature no longer holds.
    let tampered = work.path().join("tampered.exe");
    let mut bytes = std::fs::read(&exe).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&tampered, &bytes).unwrap();
    assert!(
        !ca.verify(&tampered).status.success(),
        "a tampered azcm.exe verified"
    );
    let tampered_msi = work.path().join("tampered.msi");
    let mut bytes = std::fs::read(&msi).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&tampered_msi, &bytes).unwrap();
    assert!(
        !ca.verify(&tampered_msi).status.success(),
        "a tampered MSI verified"
    );

    // The password on stdin instead; a wrong one fails the build, and says nothing of it.
    let stdin_out = work.path().join("stdin");
    let out = package_sh(
        &[
            "--only",
            "msi",
            "--out",
            stdin_out.to_str().unwrap(),
            "--sign-pfx",
            pfx,
        ],
        &[],
        Some(&format!("{}\n", SigningCa::PASSWORD)),
    );
    assert_built(&out);
    assert!(ca
        .verify(&stdin_out.join(format!("azcm-{}-x64.msi", cargo_version())))
        .status
        .success());
    let wrong = package_sh(
        &[
            "--only",
            "msi",
            "--out",
            work.path().join("wrong").to_str().unwrap(),
            "--sign-pfx",
            pfx,
        ],
        &[("AZCM_SIGN_PASSWORD", "not the password")],
        None,
    );
    assert!(
        !wrong.status.success(),
        "a wrong PFX password built a package"
    );

    // Without a certificate: unsigned, and said so.
    let unsigned = work.path().join("unsigned");
    let out = package_sh(
        &["--only", "msi", "--out", unsigned.to_str().unwrap()],
        &[],
        None,
    );
    assert_built(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not signed"));
    assert!(!ca
        .verify(&unsigned.join(format!("azcm-{}-x64.msi", cargo_version())))
        .status
        .success());
}

/// A fresh Wine prefix for the MSI: msiexec, cmd and reg run in it.
struct Wine {
    prefix: tempfile::TempDir,
}

impl Wine {
    fn new() -> Self {
        let prefix = tempfile::tempdir().unwrap();
        let wine = Wine { prefix };
        ok(&mut wine.cmd("wineboot", &["--init"]));
        wine.wait();
        // Wine 8 lacks ProcessPrng (bcryptprimitives), which Rust's std calls on Windows 10+:
        // the same test-only shim as the Windows tier, as the prefix's system DLL.
        let shim = wine
            .prefix
            .path()
            .join("drive_c/windows/system32/bcryptprimitives.dll");
        let repo = common::repo_root();
        ok(Command::new("x86_64-w64-mingw32-gcc")
            .args(["-O2", "-shared", "-o"])
            .arg(&shim)
            .arg(repo.join("scripts/wine-shim/processprng.c"))
            .arg(repo.join("scripts/wine-shim/bcryptprimitives.def"))
            .arg("-ladvapi32"));
        wine
    }

    fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("WINEPREFIX", self.prefix.path())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "bcryptprimitives=n,b;mscoree,mshtml=")
            .env("LC_ALL", "C.UTF-8")
            .env_remove("AZCM_ROOT");
        cmd
    }

    fn wine(&self, args: &[&str]) -> Command {
        self.cmd("wine", args)
    }

    fn wait(&self) {
        let _ = run(&mut self.cmd("wineserver", &["-w"]));
    }

    /// msiexec's exit code (Wine passes on its low 8 bits: 1603 arrives as 67) and its log.
    fn msiexec(&self, args: &[&str], msi: &Path) -> (i32, String) {
        let log = self.prefix.path().join("msiexec.log");
        let _ = std::fs::remove_file(&log);
        let msi = format!("Z:{}", msi.display()).replace('/', "\\");
        let log_arg = format!("Z:{}", log.display()).replace('/', "\\");
        let mut all: Vec<&str> = vec!["msiexec"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[&msi, "/qn", "/l*v", &log_arg]);
        let out = run(&mut self.wine(&all));
        self.wait();
        let bytes = std::fs::read(&log).unwrap_or_default();
        // msiexec writes its log in UTF-16LE.
        let text = if bytes.starts_with(&[0xff, 0xfe]) {
            let units: Vec<u16> = bytes[2..]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        (out.status.code().unwrap_or(-1), text)
    }

    fn c(&self, path: &str) -> PathBuf {
        self.prefix.path().join("drive_c").join(path)
    }

    /// A registry value as `reg query` prints it, None when the key or value is absent.
    fn reg_value(&self, key: &str, name: &str) -> Option<String> {
        let out = run(&mut self.wine(&["reg", "query", key, "/v", name]));
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix(name)?;
            let rest = rest.trim_start();
            let (_kind, value) = rest.split_once("    ")?;
            Some(value.trim_end_matches(['\r', '\n']).to_string())
        })
    }

    fn system_path(&self) -> String {
        self.reg_value(
            r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment",
            "PATH",
        )
        .expect("the system PATH")
    }

    /// The Uninstall entries whose DisplayName is azcm, as (key, values).
    fn azcm_uninstall_entries(&self) -> Vec<BTreeMap<String, String>> {
        let out = ok(&mut self.wine(&[
            "reg",
            "query",
            r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall",
            "/s",
        ]));
        let mut entries = Vec::new();
        let mut current: Option<BTreeMap<String, String>> = None;
        for line in out.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with("HKEY_") {
                if let Some(e) = current.take() {
                    entries.push(e);
                }
                let mut e = BTreeMap::new();
                e.insert("Key".to_string(), line.to_string());
                current = Some(e);
            } else if let Some(e) = current.as_mut() {
                let parts: Vec<&str> = line.trim_start().splitn(3, "    ").collect();
                if parts.len() == 3 {
                    e.insert(parts[0].to_string(), parts[2].to_string());
                }
            }
        }
        entries.extend(current);
        entries
            .into_iter()
            .filter(|e| e.get("DisplayName").map(String::as_str) == Some("azcm"))
            .collect()
    }

    /// `cmd /c LINE` in a new cmd, which reads the system PATH the MSI wrote.
    fn cmd_line(&self, line: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.wine(&["cmd", "/c", line]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    }
}

#[test]
#[ignore = "installs the MSI under Wine: scripts/package-tests.sh"]
fn msi_installs_upgrades_refuses_a_downgrade_and_uninstalls_without_a_trace() {
    let dist = dist();
    let v = cargo_version();
    let current = dist.join(format!("azcm-{v}-x64.msi"));
    let work = tempfile::tempdir().unwrap();
    // One version lower, and the same version rebuilt (a new ProductCode), from this tree.
    let older_v = lower(&v);
    let older_dir = work.path().join("older");
    assert_built(&package_sh(
        &[
            "--only",
            "msi",
            "--version",
            &older_v,
            "--out",
            older_dir.to_str().unwrap(),
        ],
        &[],
        None,
    ));
    let older = older_dir.join(format!("azcm-{older_v}-x64.msi"));
    let rebuilt_dir = work.path().join("rebuilt");
    assert_built(&package_sh(
        &["--only", "msi", "--out", rebuilt_dir.to_str().unwrap()],
        &[],
        None,
    ));
    let rebuilt = rebuilt_dir.join(format!("azcm-{v}-x64.msi"));

    let wine = Wine::new();
    let path_before = wine.system_path();
    let modules_root = wine.c("Program Files/WindowsPowerShell");
    let modules_before = modules_root.exists();
    // An agent state on this machine before azcm is installed: nothing may change it.
    let state = wine.c("ProgramData/AzureConnectedMachineAgent");
    std::fs::create_dir_all(state.join("Config")).unwrap();
    std::fs::write(state.join("Config/agentconfig.json"), br#"{"subscriptionId":"00000000-0000-0000-0000-000000000001","resourceGroup":"planted","resourceName":"planted","tenantId":"00000000-0000-0000-0000-000000000002","location":"westeurope","cloud":"AzureCloud"}"#).unwrap();
    std::fs::write(
        state.join("Config/localconfig.json"),
        br#"{"config.mode":"full","incomingconnections.ports":["22"]}"#,
    )
    .unwrap();
    let state_before = tree(&state);
    let install_dir = wine.c("Program Files/azcm");
    let module_dir = |ver: &str| {
        wine.c(&format!(
            "Program Files/WindowsPowerShell/Modules/AzcmAgent/{ver}"
        ))
    };
    let expected_path = format!(r"C:\Program Files\azcm\;{path_before}");

    // The older version installs: files, PATH, the Add/Remove Programs entry.
    let (code, log) = wine.msiexec(&["/i"], &older);
    assert_eq!(code, 0, "install of {older_v}:\n{log}");
    assert!(install_dir.join("azcm.exe").is_file());
    assert_eq!(
        module_manifest_version(&module_dir(&older_v).join("AzcmAgent.psd1")),
        older_v
    );
    assert_eq!(wine.system_path(), expected_path);
    let entries = wine.azcm_uninstall_entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["DisplayVersion"], older_v);

    // Upgrade in place: one entry, the new version's files, the old module folder gone.
    let (code, log) = wine.msiexec(&["/i"], &current);
    assert_eq!(code, 0, "upgrade to {v}:\n{log}");
    let entries = wine.azcm_uninstall_entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["DisplayVersion"], v);
    assert_eq!(entry["Publisher"], "azcm project");
    assert_eq!(entry["InstallLocation"], r"C:\Program Files\azcm\");
    assert_eq!(entry["NoModify"], "0x1");
    assert_eq!(entry["NoRepair"], "0x1");
    assert!(
        !module_dir(&older_v).exists(),
        "the {older_v} module stayed after the upgrade"
    );
    assert_eq!(wine.system_path(), expected_path, "PATH after the upgrade");
    assert_eq!(
        wine.reg_value(r"HKLM\SOFTWARE\azcm", "InstallDir")
            .as_deref(),
        Some(r"C:\Program Files\azcm\")
    );
    // The module where Windows PowerShell 5.1 and PowerShell 7 both look (PowerShell 7's
    // default module path includes %ProgramFiles%\WindowsPowerShell\Modules), exactly the
    // staged module, with no azcm.exe of its own: it uses the one on PATH / in InstallDir.
    assert_eq!(
        tree(&module_dir(&v)),
        staged_module(false),
        "installed module != staged module"
    );
    let installed: Vec<String> = tree(&install_dir).into_keys().collect();
    let mut expected: Vec<String> = vec!["LICENSE".into(), "azcm.exe".into()];
    expected.extend(manifest_names());
    expected.sort();
    assert_eq!(installed, expected);
    // The DSC manifests beside azcm.exe are the shipped ones (dsc finds them through PATH).
    for name in manifest_names() {
        assert_eq!(
            std::fs::read(install_dir.join(&name)).unwrap(),
            std::fs::read(common::repo_root().join("dsc").join(&name)).unwrap(),
            "{name}"
        );
    }

    // A new cmd finds azcm through PATH; it runs against a state root of the test's own.
    let out = wine.cmd_line("azcm version --json", &[]);
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["result"]["version"], v.as_str());
    let root = [("AZCM_ROOT", r"C:\azcm-test-root")];
    let out = wine.cmd_line(
        "azcm config set proxy.url http://127.0.0.1:3128 --json",
        &root,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = wine.cmd_line("azcm config get proxy.url --json", &root);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["result"]["value"], "http://127.0.0.1:3128", "{doc}");

    // The same version rebuilt installs over it cleanly: still one entry.
    let (code, log) = wine.msiexec(&["/i"], &rebuilt);
    assert_eq!(code, 0, "same-version reinstall:\n{log}");
    assert_eq!(wine.azcm_uninstall_entries().len(), 1);
    assert_eq!(tree(&module_dir(&v)), staged_module(false));
    assert_eq!(wine.system_path(), expected_path);

    // A downgrade is refused with a message, and changes nothing.
    let (code, log) = wine.msiexec(&["/i"], &older);
    assert_eq!(code, 1603 & 0xff, "downgrade exit code:\n{log}");
    // Windows logs the launch condition's message; Wine's msiexec logs only that it found the
    // newer product and failed: the message is read from the package itself.
    assert!(log.contains("WIX_DOWNGRADE_DETECTED = {"), "{log}");
    let conditions = ok(Command::new("msiinfo")
        .arg("export")
        .arg(&older)
        .arg("LaunchCondition"));
    assert!(
        conditions.contains("NOT WIX_DOWNGRADE_DETECTED\tA newer version of azcm is already installed. Uninstall it first to install this older one."),
        "{conditions}"
    );
    assert_eq!(wine.azcm_uninstall_entries()[0]["DisplayVersion"], v);
    assert!(!module_dir(&older_v).exists());

    // Uninstall: no file, folder, registry key or PATH byte of azcm's left.
    let (code, log) = wine.msiexec(&["/x"], &rebuilt);
    assert_eq!(code, 0, "uninstall:\n{log}");
    assert!(!install_dir.exists(), "{:?}", tree(&install_dir).keys());
    assert!(!wine
        .c("Program Files/WindowsPowerShell/Modules/AzcmAgent")
        .exists());
    assert_eq!(
        modules_root.exists(),
        modules_before,
        "Program Files\\WindowsPowerShell"
    );
    assert_eq!(wine.system_path(), path_before, "PATH after uninstall");
    assert!(wine.azcm_uninstall_entries().is_empty());
    assert_eq!(wine.reg_value(r"HKLM\SOFTWARE\azcm", "InstallDir"), None);
    assert!(
        !run(&mut wine.wine(&["reg", "query", r"HKLM\SOFTWARE\azcm"]))
            .status
            .success()
    );

    // The agent's state, untouched by install, upgrade, downgrade refusal and uninstall.
    assert_eq!(tree(&state), state_before);
}

/// The files a .deb installs (`dpkg-deb -c`), as absolute paths, without directories.
fn deb_files(deb: &Path) -> Vec<String> {
    ok(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_string())
        .collect()
}

#[test]
#[ignore = "installs the .deb on this machine with dpkg (root): scripts/package-tests.sh"]
fn deb_passes_lintian_installs_imports_in_pwsh_and_removes_without_a_trace() {
    let dist = dist();
    let v = cargo_version();
    let deb = dist.join(format!("azcm_{v}_amd64.deb"));
    let lintian = run(Command::new("lintian")
        .args(["--pedantic", "--fail-on", "error,warning,info,pedantic"])
        .arg(&deb));
    assert!(
        lintian.status.success(),
        "lintian:\n{}{}",
        String::from_utf8_lossy(&lintian.stdout),
        String::from_utf8_lossy(&lintian.stderr)
    );
    let control = ok(Command::new("dpkg-deb").args(["-f"]).arg(&deb));
    assert!(control.contains("Depends: libc6 (>= "), "{control}");

    let status = run(Command::new("dpkg").args(["-s", "azcm"]));
    assert!(
        !status.status.success(),
        "azcm is already installed here: this test installs and purges it"
    );
    // The agent's state: planted when this machine has none (and removed after).
    let state = PathBuf::from("/var/opt/azcmagent");
    let planted = !state.exists();
    if planted {
        std::fs::create_dir_all(state.join("config")).unwrap();
        std::fs::write(
            state.join("config/agentconfig.json"),
            b"{\"resourceName\":\"planted\"}",
        )
        .unwrap();
    }
    let state_before = tree(&state);
    let local_share_before = Path::new("/usr/local/share/powershell").exists();
    let files = deb_files(&deb);
    let module = format!("/usr/local/share/powershell/Modules/AzcmAgent/{v}");
    for f in [
        "/usr/bin/azcm",
        "/usr/bin/azcm.settings.dsc.resource.json",
        "/usr/bin/azcm.connection.dsc.resource.json",
        "/usr/share/man/man1/azcm.1.gz",
        "/usr/share/doc/azcm/copyright",
        "/usr/share/bash-completion/completions/azcm",
    ] {
        assert!(
            files.iter().any(|x| x == f),
            "{f} not in the .deb: {files:?}"
        );
    }

    let result = std::panic::catch_unwind(|| {
        ok(Command::new("dpkg").args(["-i"]).arg(&deb));
        let out = ok(Command::new("/usr/bin/azcm")
            .args(["version", "--json"])
            .env("AZCM_ROOT", "/nonexistent-azcm-root"));
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["result"]["version"], v.as_str());
        assert_eq!(
            tree(Path::new(&module)),
            staged_module(true),
            "installed module != staged module"
        );

        // PowerShell 7 finds the module for every user: a clean HOME, no PSModulePath, no
        // AZCM_BINARY; the module runs /usr/bin/azcm.
        let home = tempfile::tempdir().unwrap();
        let pwsh = common::pwsh::pwsh(&common::repo_root());
        let out = ok(Command::new(pwsh)
            .args(["-NoProfile", "-NonInteractive", "-Command", "Import-Module AzcmAgent; $v = Get-AzcmVersion; '{0}|{1}' -f $v.Version, (Get-Module AzcmAgent).ModuleBase"])
            .env("HOME", home.path())
            .env_remove("PSModulePath")
            .env_remove("AZCM_BINARY")
            .env_remove("AZCM_MODULE_PATH")
            .env("AZCM_ROOT", "/nonexistent-azcm-root"));
        assert_eq!(out.trim(), format!("{v}|{module}"));

        // dsc finds the resource through PATH (/usr/bin), beside the installed azcm.
        let dsc = common::repo_root().join("../shared/tools/dsc");
        let state = tempfile::tempdir().unwrap();
        let got = ok(Command::new(&dsc)
            .args([
                "resource",
                "get",
                "-r",
                "Azcm/Settings",
                "-i",
                r#"{"proxy.url":null}"#,
                "-o",
                "json",
            ])
            .env("PATH", "/usr/bin:/bin")
            .env("AZCM_ROOT", state.path()));
        assert!(got.contains(r#""actualState":{"proxy.url":""}"#), "{got}");

        ok(Command::new("dpkg").args(["-r", "azcm"]));
        for f in &files {
            assert!(!Path::new(f).exists(), "{f} stayed after dpkg -r");
        }
        ok(Command::new("dpkg").args(["-P", "azcm"]));
        assert!(!run(Command::new("dpkg").args(["-s", "azcm"]))
            .status
            .success());
        for f in &files {
            assert!(!Path::new(f).exists(), "{f} stayed after dpkg -P");
        }
        assert!(!Path::new("/usr/local/share/powershell/Modules/AzcmAgent").exists());
        assert!(!Path::new("/usr/share/doc/azcm").exists());
        assert_eq!(
            Path::new("/usr/local/share/powershell").exists(),
            local_share_before
        );
    });
    let state_after = tree(&state);
    let _ = run(Command::new("dpkg").args(["-P", "azcm"]));
    if planted {
        std::fs::remove_dir_all(&state).unwrap();
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    assert_eq!(state_after, state_before, "the agent's state changed");
}

#[test]
#[ignore = "needs scripts/package.sh's dist (AZCM_DIST): scripts/package-tests.sh"]
fn rpm_lists_its_files_metadata_and_no_scripts_and_installs_into_a_scratch_root() {
    let dist = dist();
    let v = cargo_version();
    let rpm = dist.join(format!("azcm-{v}-1.x86_64.rpm"));
    let rpmq = |args: &[&str]| ok(Command::new("rpm").arg("-qp").args(args).arg(&rpm));
    let files: Vec<String> = rpmq(&["-l"]).lines().map(str::to_string).collect();
    let module = format!("/usr/local/share/powershell/Modules/AzcmAgent/{v}");
    for f in [
        "/usr/bin/azcm",
        "/usr/bin/azcm.settings.dsc.resource.json",
        "/usr/bin/azcm.connection.dsc.resource.json",
        "/usr/share/man/man1/azcm.1.gz",
        "/usr/share/licenses/azcm/LICENSE",
        &format!("{module}/AzcmAgent.psd1"),
    ] {
        assert!(
            files.iter().any(|x| x == f),
            "{f} not in the rpm: {files:?}"
        );
    }
    let module_files: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with(&format!("{module}/")))
        .collect();
    let staged = staged_module(true);
    for rel in staged.keys() {
        assert!(
            module_files
                .iter()
                .any(|f| **f == format!("{module}/{rel}")),
            "{rel} not in the rpm"
        );
    }
    let info = rpmq(&["-i"]);
    for want in [
        format!("Version     : {v}"),
        "License     : MIT".to_string(),
        "Architecture: x86_64".to_string(),
    ] {
        assert!(info.contains(&want), "{want} not in:\n{info}");
    }
    assert_eq!(
        rpmq(&["--scripts"]).trim(),
        "",
        "the rpm runs no scriptlets"
    );
    let requires = rpmq(&["-R"]);
    assert!(
        requires.lines().any(|l| l.starts_with("libc.so.6(GLIBC_")),
        "{requires}"
    );

    // Installed into a scratch root (its own rpm database), run, and erased.
    let root = tempfile::tempdir().unwrap();
    let r = root.path().to_str().unwrap();
    ok(Command::new("rpm").args(["--root", r, "--initdb"]));
    ok(Command::new("rpm")
        .args(["--root", r, "-i", "--nodeps"])
        .arg(&rpm));
    let azcm = root.path().join("usr/bin/azcm");
    let out = ok(Command::new(&azcm)
        .args(["version", "--json"])
        .env("AZCM_ROOT", root.path().join("state")));
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["result"]["version"], v.as_str());
    assert_eq!(
        tree(&root.path().join(module.trim_start_matches('/'))),
        staged_module(true)
    );
    ok(Command::new("rpm").args(["--root", r, "-e", "azcm"]));
    for f in &files {
        assert!(
            !root.path().join(f.trim_start_matches('/')).exists(),
            "{f} stayed after rpm -e"
        );
    }
}

/// The DSC manifests every package ships beside azcm.
fn manifest_names() -> Vec<String> {
    azcm::desired_state::manifests()
        .into_iter()
        .map(|(name, _)| name.to_string())
        .collect()
}
