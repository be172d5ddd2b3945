//! The AzcmAgent module, checked without pwsh: every PowerShell file parses with
//! tree-sitter-pwsh 0.38.1 (written in the subset ../shared/powershell-style.md describes), the
//! manifest exports exactly the Public functions, each cmdlet's native commands, flags,
//! parameters and ValidateSets match the clap definition, and the code stays Windows
//! PowerShell 5.1-compatible.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tree_sitter::{Node, Parser, Tree};

struct PsFile {
    path: PathBuf,
    src: String,
    tree: Tree,
}

impl PsFile {
    fn text(&self, node: Node<'_>) -> &str {
        node.utf8_text(self.src.as_bytes()).unwrap()
    }
    fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }
    fn name(&self) -> String {
        self.path
            .strip_prefix(repo())
            .unwrap_or(&self.path)
            .display()
            .to_string()
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn module_dir() -> PathBuf {
    repo().join("powershell/AzcmAgent")
}

fn parse(path: &Path) -> PsFile {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_pwsh::LANGUAGE.into())
        .unwrap();
    let tree = parser.parse(&src, None).expect("parse");
    PsFile {
        path: path.to_path_buf(),
        src,
        tree,
    }
}

fn collect_ps_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_ps_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("ps1" | "psm1" | "psd1")
        ) {
            out.push(path);
        }
    }
}

/// Every PowerShell file the project owns.
fn all_ps_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["powershell", "tests/powershell", "examples", "scripts"] {
        collect_ps_files(&repo().join(dir), &mut out);
    }
    let build_script = repo().join("build.ps1");
    if build_script.exists() {
        out.push(build_script);
    }
    out.sort();
    out
}

fn descendants<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        out.push(n);
        let mut cursor = n.walk();
        let children: Vec<_> = n.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

fn child_of_kind<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    children(node).into_iter().find(|c| c.kind() == kind)
}

/// The value of a string literal node (no interpolation in the strings we extract).
fn string_value(file: &PsFile, node: Node<'_>) -> Option<String> {
    if node.kind() != "string_literal" {
        return None;
    }
    let raw = file.text(node);
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .map(str::to_string)
}

fn strings_in(file: &PsFile, node: Node<'_>) -> Vec<String> {
    descendants(node)
        .into_iter()
        .filter_map(|n| string_value(file, n))
        .collect()
}

#[derive(Debug)]
struct Attribute {
    name: String,
    named: BTreeMap<String, String>,
    positional: Vec<String>,
}

#[derive(Debug)]
struct Param {
    name: String,
    attributes: Vec<Attribute>,
}

impl Param {
    fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

fn attributes(file: &PsFile, list: Node<'_>) -> Vec<Attribute> {
    let mut out = Vec::new();
    for attr in children(list)
        .into_iter()
        .filter(|n| n.kind() == "attribute")
    {
        let Some(name) = child_of_kind(attr, "attribute_name") else {
            continue;
        };
        let mut a = Attribute {
            name: file.text(name).to_string(),
            named: BTreeMap::new(),
            positional: Vec::new(),
        };
        if let Some(args) = child_of_kind(attr, "attribute_arguments") {
            for arg in children(args)
                .into_iter()
                .filter(|n| n.kind() == "attribute_argument")
            {
                match child_of_kind(arg, "simple_name") {
                    Some(key) => {
                        let value = children(arg)
                            .into_iter()
                            .find(|c| c.is_named() && c.kind() != "simple_name");
                        a.named.insert(
                            file.text(key).to_string(),
                            value.map(|v| file.text(v).to_string()).unwrap_or_default(),
                        );
                    }
                    // ValidateSet('a','b','c') may come back grouped: flatten every literal.
                    None => a.positional.extend(strings_in(file, arg)),
                }
            }
        }
        out.push(a);
    }
    out
}

struct Function<'t> {
    name: String,
    node: Node<'t>,
    binding: Vec<Attribute>,
    params: Vec<Param>,
}

fn functions(file: &PsFile) -> Vec<Function<'_>> {
    let mut out = Vec::new();
    for f in descendants(file.root())
        .into_iter()
        .filter(|n| n.kind() == "function_statement")
    {
        let name = file
            .text(child_of_kind(f, "function_name").unwrap())
            .to_string();
        let mut binding = Vec::new();
        let mut params = Vec::new();
        if let Some(block) =
            child_of_kind(f, "script_block").and_then(|b| child_of_kind(b, "param_block"))
        {
            if let Some(list) = child_of_kind(block, "attribute_list") {
                binding = attributes(file, list);
            }
            if let Some(plist) = child_of_kind(block, "parameter_list") {
                for p in children(plist)
                    .into_iter()
                    .filter(|n| n.kind() == "script_parameter")
                {
                    let var = child_of_kind(p, "variable").expect("parameter variable");
                    params.push(Param {
                        name: file.text(var).trim_start_matches('$').to_string(),
                        attributes: child_of_kind(p, "attribute_list")
                            .map(|l| attributes(file, l))
                            .unwrap_or_default(),
                    });
                }
            }
        }
        out.push(Function {
            name,
            node: f,
            binding,
            params,
        });
    }
    out
}

/// Commands (by name) called anywhere under `node`, with their argument nodes.
fn commands<'t>(file: &PsFile, node: Node<'t>, name: &str) -> Vec<Node<'t>> {
    descendants(node)
        .into_iter()
        .filter(|n| n.kind() == "command")
        .filter(|n| {
            child_of_kind(*n, "command_name")
                .is_some_and(|c| file.text(c).eq_ignore_ascii_case(name))
        })
        .collect()
}

/// The argument node following `-Parameter` in a command.
fn argument_of<'t>(file: &PsFile, command: Node<'t>, parameter: &str) -> Option<Node<'t>> {
    let elements = child_of_kind(command, "command_elements")?;
    let items: Vec<_> = children(elements)
        .into_iter()
        .filter(|c| c.kind() != "command_argument_sep")
        .collect();
    let at = items.iter().position(|c| {
        c.kind() == "command_parameter"
            && file.text(*c).eq_ignore_ascii_case(&format!("-{parameter}"))
    })?;
    items.get(at + 1).copied()
}

fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn clap_command(path: &[String]) -> Option<clap::Command> {
    let mut cmd = azcm::cli::command();
    for word in path {
        cmd = cmd.find_subcommand(word)?.clone();
    }
    Some(cmd)
}

fn public_files() -> Vec<PsFile> {
    let mut paths = Vec::new();
    collect_ps_files(&module_dir().join("Public"), &mut paths);
    paths.sort();
    paths.iter().map(|p| parse(p)).collect()
}

/// Parameters that exist only on the PowerShell side (remoting fan-out, pipeline output).
const POWERSHELL_ONLY: &[&str] = &[
    "Session",
    "ComputerName",
    "Credential",
    "ThrottleLimit",
    "HostName",
    "UserName",
    "KeyFilePath",
    "Port",
    "Options",
    "PassThru",
    "Quiet",
    // Export-AzcmLog: where the machines' archives are brought back to.
    "Destination",
    "KeepRemoteCopy",
];

/// Parameters that carry several azcm flags at once.
const COMPOSITE: &[(&str, &[&str])] = &[(
    "ServicePrincipalCredential",
    &["service-principal-id", "service-principal-secret"],
)];

#[test]
fn every_powershell_file_parses() {
    let files = all_ps_files();
    assert!(files.len() >= 10, "found only {files:?}");
    let mut failures = Vec::new();
    for path in &files {
        let file = parse(path);
        if file.root().has_error() {
            let at = descendants(file.root())
                .into_iter()
                .find(|n| n.is_error() || n.is_missing())
                .map(|n| n.start_position())
                .unwrap_or_else(|| file.root().start_position());
            failures.push(format!("{}:{}:{}", file.name(), at.row + 1, at.column + 1));
        }
    }
    assert!(
        failures.is_empty(),
        "tree-sitter-pwsh parse errors at: {failures:?}"
    );
}

fn manifest_value<'t>(file: &'t PsFile, key: &str) -> Option<Node<'t>> {
    descendants(file.root())
        .into_iter()
        .filter(|n| n.kind() == "hash_entry")
        .find(|n| child_of_kind(*n, "key_expression").is_some_and(|k| file.text(k) == key))
}

#[test]
fn manifest_exports_exactly_the_public_functions() {
    let manifest = parse(&module_dir().join("AzcmAgent.psd1"));
    let exported: BTreeSet<String> = strings_in(
        &manifest,
        manifest_value(&manifest, "FunctionsToExport").expect("FunctionsToExport"),
    )
    .into_iter()
    .collect();
    let mut public = BTreeSet::new();
    for file in public_files() {
        let stem = file
            .path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let defined: Vec<String> = functions(&file).into_iter().map(|f| f.name).collect();
        assert_eq!(
            defined,
            vec![stem.clone()],
            "{} must define exactly the function {stem}",
            file.name()
        );
        public.insert(stem);
    }
    assert_eq!(
        exported, public,
        "FunctionsToExport differs from Public/*.ps1"
    );
    for (key, expected) in [
        ("RootModule", "AzcmAgent.psm1"),
        ("PowerShellVersion", "5.1"),
    ] {
        let value = strings_in(&manifest, manifest_value(&manifest, key).unwrap());
        assert_eq!(value, vec![expected.to_string()], "{key}");
    }
    let editions: BTreeSet<String> = strings_in(
        &manifest,
        manifest_value(&manifest, "CompatiblePSEditions").unwrap(),
    )
    .into_iter()
    .collect();
    assert_eq!(
        editions,
        BTreeSet::from(["Core".to_string(), "Desktop".to_string()])
    );
    let formats = strings_in(
        &manifest,
        manifest_value(&manifest, "FormatsToProcess").unwrap(),
    );
    for f in formats {
        assert!(
            module_dir().join(&f).exists(),
            "FormatsToProcess names missing {f}"
        );
    }
}

#[test]
fn cmdlets_call_real_commands_flags_and_values() {
    let mut checked = 0;
    for file in public_files() {
        let function = functions(&file).remove(0);
        let calls = commands(&file, function.node, "Invoke-AzcmNative");
        // The desired-state cmdlets run azcm through Microsoft's dsc (its resources' manifests).
        let through_dsc = !commands(&file, function.node, "Invoke-AzcmDsc").is_empty();
        assert!(
            !calls.is_empty() || through_dsc,
            "{} never runs azcm",
            file.name()
        );
        if calls.is_empty() {
            // Their parameters are the document's and dsc's, not azcm flags: the document's
            // properties are checked by the resource's schema (tests/dsc.rs).
            continue;
        }
        let mut invoked: Vec<clap::Command> = Vec::new();
        for call in &calls {
            let cmdlet = argument_of(&file, *call, "Cmdlet").map(|n| file.text(n).to_string());
            assert_eq!(
                cmdlet.as_deref(),
                Some("$PSCmdlet"),
                "{}: pass -Cmdlet $PSCmdlet so errors are the cmdlet's",
                file.name()
            );
            let path = strings_in(
                &file,
                argument_of(&file, *call, "Command").expect("-Command"),
            );
            let cmd = clap_command(&path)
                .unwrap_or_else(|| panic!("{}: azcm has no command {path:?}", file.name()));
            assert!(
                cmd.get_subcommands().next().is_none(),
                "{}: {path:?} is a group, not a command",
                file.name()
            );
            invoked.push(cmd);
        }

        // Every --flag literal the cmdlet passes is a long flag of a command it runs.
        for literal in strings_in(&file, function.node) {
            // `--` alone ends azcm's options: the words after it are values.
            if let Some(flag) = literal.strip_prefix("--").filter(|f| !f.is_empty()) {
                let exists = invoked
                    .iter()
                    .any(|c| c.get_arguments().any(|a| a.get_long() == Some(flag)));
                assert!(
                    exists,
                    "{}: azcm has no flag --{flag} on the commands it runs",
                    file.name()
                );
            }
        }

        // Every parameter maps to a clap argument (by name or alias), or is PowerShell-only;
        // a ValidateSet equals clap's allowed values.
        for param in &function.params {
            if POWERSHELL_ONLY.contains(&param.name.as_str()) {
                continue;
            }
            if let Some((_, flags)) = COMPOSITE.iter().find(|(n, _)| *n == param.name) {
                for flag in *flags {
                    let exists = invoked
                        .iter()
                        .any(|c| c.get_arguments().any(|a| a.get_long() == Some(*flag)));
                    assert!(
                        exists,
                        "{}: -{} needs azcm's --{flag}",
                        file.name(),
                        param.name
                    );
                }
                checked += 1;
                continue;
            }
            let mut names = vec![kebab(&param.name)];
            if let Some(alias) = param.attribute("Alias") {
                names.extend(alias.positional.iter().map(|a| kebab(a)));
            }
            let matched: Vec<&clap::Arg> = invoked
                .iter()
                .flat_map(|c| c.get_arguments())
                .filter(|a| {
                    names
                        .iter()
                        .any(|n| a.get_id() == n.as_str() || a.get_long() == Some(n.as_str()))
                })
                .collect();
            assert!(
                !matched.is_empty(),
                "{}: parameter -{} maps to no azcm flag ({names:?})",
                file.name(),
                param.name
            );
            if let Some(set) = param.attribute("ValidateSet") {
                let ps: BTreeSet<String> = set.positional.iter().cloned().collect();
                for arg in &matched {
                    let clap_values: BTreeSet<String> = arg
                        .get_possible_values()
                        .iter()
                        .map(|v| v.get_name().to_string())
                        .collect();
                    assert_eq!(
                        ps,
                        clap_values,
                        "{}: ValidateSet of -{} differs from azcm's values",
                        file.name(),
                        param.name
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "too few parameters checked: {checked}");
}

const APPROVED_VERBS: &[&str] = &[
    "Add",
    "Clear",
    "Close",
    "Copy",
    "Enter",
    "Exit",
    "Find",
    "Format",
    "Get",
    "Hide",
    "Join",
    "Lock",
    "Move",
    "New",
    "Open",
    "Optimize",
    "Pop",
    "Push",
    "Redo",
    "Remove",
    "Rename",
    "Reset",
    "Resize",
    "Search",
    "Select",
    "Set",
    "Show",
    "Skip",
    "Split",
    "Step",
    "Switch",
    "Undo",
    "Unlock",
    "Watch",
    "Connect",
    "Disconnect",
    "Read",
    "Receive",
    "Send",
    "Write",
    "Backup",
    "Checkpoint",
    "Compare",
    "Compress",
    "Convert",
    "ConvertFrom",
    "ConvertTo",
    "Dismount",
    "Edit",
    "Expand",
    "Export",
    "Group",
    "Import",
    "Initialize",
    "Limit",
    "Merge",
    "Mount",
    "Out",
    "Publish",
    "Restore",
    "Save",
    "Sync",
    "Unpublish",
    "Update",
    "Approve",
    "Assert",
    "Build",
    "Complete",
    "Confirm",
    "Deny",
    "Deploy",
    "Disable",
    "Enable",
    "Install",
    "Invoke",
    "Register",
    "Request",
    "Restart",
    "Resume",
    "Start",
    "Stop",
    "Submit",
    "Suspend",
    "Uninstall",
    "Unregister",
    "Wait",
    "Debug",
    "Measure",
    "Ping",
    "Repair",
    "Resolve",
    "Test",
    "Trace",
    "Block",
    "Grant",
    "Protect",
    "Revoke",
    "Unblock",
    "Unprotect",
    "Use",
];

/// Verbs whose cmdlets change state and so must honour -WhatIf/-Confirm.
const CHANGING_VERBS: &[&str] = &[
    "Set",
    "Clear",
    "New",
    "Remove",
    "Connect",
    "Disconnect",
    "Reset",
    "Install",
    "Uninstall",
    "Register",
    "Unregister",
];

#[test]
fn cmdlets_use_approved_verbs_and_should_process() {
    for file in public_files() {
        let function = functions(&file).remove(0);
        let (verb, noun) = function.name.split_once('-').expect("Verb-Noun");
        assert!(
            APPROVED_VERBS.contains(&verb),
            "{}: {verb} is not an approved verb",
            function.name
        );
        assert!(
            noun.starts_with("Azcm"),
            "{}: nouns carry the Azcm prefix",
            function.name
        );
        let binding = function
            .binding
            .iter()
            .find(|a| a.name == "CmdletBinding")
            .unwrap_or_else(|| panic!("{} needs [CmdletBinding()]", function.name));
        if CHANGING_VERBS.contains(&verb) {
            assert_eq!(
                binding
                    .named
                    .get("SupportsShouldProcess")
                    .map(String::as_str),
                Some("$true"),
                "{} must support -WhatIf/-Confirm",
                function.name
            );
            // Through Confirm-AzcmAction, which stops the cmdlet where ShouldProcess cannot ask
            // (a bare ShouldProcess in an `if` let a -NonInteractive -Confirm run go ahead).
            let src = file.text(function.node);
            assert!(
                src.contains("Confirm-AzcmAction -Cmdlet $PSCmdlet")
                    && !src.contains("$PSCmdlet.ShouldProcess("),
                "{} must ask through Confirm-AzcmAction",
                function.name
            );
        }
        assert!(
            function.binding.iter().any(|a| a.name == "OutputType"),
            "{} needs [OutputType()]",
            function.name
        );
        assert!(
            file.src.contains(".SYNOPSIS") && file.src.contains(".EXAMPLE"),
            "{} needs comment-based help",
            function.name
        );
    }
}

const PARAMETER_PROPERTIES: &[&str] = &[
    "Mandatory",
    "Position",
    "ParameterSetName",
    "ValueFromPipeline",
    "ValueFromPipelineByPropertyName",
    "ValueFromRemainingArguments",
    "HelpMessage",
    "HelpMessageBaseName",
    "HelpMessageResourceId",
    "DontShow",
];

#[test]
fn parameters_are_declared_the_way_powershell_and_the_grammar_agree_on() {
    let mut files = Vec::new();
    collect_ps_files(&module_dir(), &mut files);
    for path in files.iter().filter(|p| p.extension().unwrap() == "ps1") {
        let file = parse(path);
        for function in functions(&file) {
            let mut seen = BTreeSet::new();
            for param in &function.params {
                assert!(
                    seen.insert(param.name.to_ascii_lowercase()),
                    "{}: duplicate parameter -{}",
                    function.name,
                    param.name
                );
                let attr = param.attribute("Parameter").unwrap_or_else(|| {
                    panic!(
                        "{}: -{} needs a [Parameter(...)] attribute",
                        function.name, param.name
                    )
                });
                assert!(
                    !attr.named.is_empty(),
                    "{}: [Parameter()] of -{} needs arguments",
                    function.name,
                    param.name
                );
                for key in attr.named.keys() {
                    assert!(
                        PARAMETER_PROPERTIES.contains(&key.as_str()),
                        "{}: unknown Parameter property {key}",
                        function.name
                    );
                }
            }
            let src = file.text(function.node);
            assert!(
                !src.contains("param ("),
                "{}: write param( on one line",
                function.name
            );
        }
        // try needs a catch or finally (the grammar accepts a bare try).
        for t in descendants(file.root())
            .into_iter()
            .filter(|n| n.kind() == "try_statement")
        {
            let kinds: Vec<&str> = children(t).iter().map(|c| c.kind()).collect();
            assert!(
                kinds
                    .iter()
                    .any(|k| *k == "catch_clauses" || *k == "finally_clause"),
                "{}: try without catch/finally",
                file.name()
            );
        }
        // Duplicate keys in one hashtable literal are a PowerShell parse error.
        for h in descendants(file.root())
            .into_iter()
            .filter(|n| n.kind() == "hash_literal_body")
        {
            let mut keys = BTreeSet::new();
            for entry in children(h).into_iter().filter(|n| n.kind() == "hash_entry") {
                let key = file
                    .text(child_of_kind(entry, "key_expression").unwrap())
                    .to_ascii_lowercase();
                assert!(
                    keys.insert(key.clone()),
                    "{}: duplicate hashtable key {key}",
                    file.name()
                );
            }
        }
    }
}

#[test]
fn module_runs_on_windows_powershell_5_1() {
    for path in all_ps_files() {
        let file = parse(&path);
        for node in descendants(file.root()) {
            let what = match node.kind() {
                "ternary_expression" => Some("the ternary operator"),
                "null_coalesce_expression" => Some("??"),
                "pipeline_chain_tail" => Some("&& / ||"),
                "assignment_operator" if file.text(node) == "??=" => Some("??="),
                "named_block"
                    if child_of_kind(node, "block_name")
                        .is_some_and(|b| file.text(b).eq_ignore_ascii_case("clean")) =>
                {
                    Some("clean blocks")
                }
                "variable"
                    if ["$IsWindows", "$IsLinux", "$IsMacOS", "$IsCoreCLR"]
                        .contains(&file.text(node)) =>
                {
                    Some("$IsWindows and friends")
                }
                _ => None,
            };
            if let Some(what) = what {
                let at = node.start_position();
                panic!("{}:{}: {what} needs PowerShell 7", file.name(), at.row + 1);
            }
        }
        for command in commands(&file, file.root(), "ForEach-Object") {
            assert!(
                argument_of(&file, command, "Parallel").is_none()
                    && !file.text(command).contains("-Parallel"),
                "{}: ForEach-Object -Parallel needs PowerShell 7",
                file.name()
            );
        }
    }
}

#[test]
fn azcm_runs_only_through_the_invoker_with_an_argument_array() {
    let mut files = Vec::new();
    collect_ps_files(&module_dir(), &mut files);
    for path in files {
        let file = parse(&path);
        for forbidden in ["Invoke-Expression", "iex", "Start-Process"] {
            assert!(
                commands(&file, file.root(), forbidden).is_empty(),
                "{}: no {forbidden}",
                file.name()
            );
        }
        assert!(
            !file.src.contains("ProcessStartInfo"),
            "{}: command lines are not built from strings",
            file.name()
        );
        let is_invoker = path.ends_with("Private/Invoke-AzcmNative.ps1");
        let runs_native = descendants(file.root())
            .into_iter()
            .any(|n| n.kind() == "command_invocation_operator" && file.text(n) == "&");
        if runs_native && !is_invoker {
            // Besides the invoker, only the fan-out helper (the cmdlet, remotely) and the SSH
            // diagnosis (ssh -G, the ssh found on PATH) use &.
            let ssh_diagnosis = path.ends_with("Private/Get-AzcmSshFailureReason.ps1");
            let dsc_runner = path.ends_with("Private/Invoke-AzcmDsc.ps1");
            if dsc_runner {
                assert!(
                    file.src
                        .contains("Get-Command -Name 'dsc' -CommandType Application"),
                    "{}: runs dsc, nothing else",
                    file.name()
                );
            }
            assert!(
                path.ends_with("Private/Invoke-AzcmFanOut.ps1") || ssh_diagnosis || dsc_runner,
                "{}: only the invoker runs azcm",
                file.name()
            );
            if ssh_diagnosis {
                assert!(
                    file.src
                        .contains("Get-Command -Name 'ssh' -CommandType Application"),
                    "{}: runs ssh, nothing else",
                    file.name()
                );
            }
        }
    }
}

fn valid_error_categories() -> BTreeSet<&'static str> {
    [
        "NotSpecified",
        "OpenError",
        "CloseError",
        "DeviceError",
        "DeadlockDetected",
        "InvalidArgument",
        "InvalidData",
        "InvalidOperation",
        "InvalidResult",
        "InvalidType",
        "MetadataError",
        "NotImplemented",
        "NotInstalled",
        "ObjectNotFound",
        "OperationStopped",
        "OperationTimeout",
        "SyntaxError",
        "ParserError",
        "PermissionDenied",
        "ResourceBusy",
        "ResourceExists",
        "ResourceUnavailable",
        "ReadError",
        "WriteError",
        "FromStdErr",
        "SecurityError",
        "ProtocolError",
        "ConnectionError",
        "AuthenticationError",
        "LimitsExceeded",
        "QuotaExceeded",
        "NotEnabled",
    ]
    .into_iter()
    .collect()
}

#[test]
fn error_records_map_every_code_to_a_category_and_its_own_next_step() {
    let src =
        std::fs::read_to_string(module_dir().join("Private/New-AzcmErrorRecord.ps1")).unwrap();
    // The parse must succeed for the catalogue to be trusted.
    parse(&module_dir().join("Private/New-AzcmErrorRecord.ps1"));
    let known: BTreeSet<String> = azcm::error::ErrorCode::ALL
        .iter()
        .map(|c| c.code())
        .collect();
    let between = |line: &str, open: &str, close: &str| -> String {
        let start = line
            .find(open)
            .map(|i| i + open.len())
            .unwrap_or_else(|| panic!("{open} in {line}"));
        let end = line[start..]
            .find(close)
            .map(|i| i + start)
            .unwrap_or_else(|| panic!("{close} in {line}"));
        line[start..end].to_string()
    };
    let mut mapped = BTreeSet::new();
    let mut actions = BTreeSet::new();
    for line in src
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("'AZCM"))
    {
        let code = between(line, "'", "'");
        let category = between(line, "Category = '", "'");
        let action = between(line, "Action = '", "' }");
        assert!(known.contains(&code), "{code} is not an azcm error code");
        assert!(
            valid_error_categories().contains(category.as_str()),
            "{code}: {category} is not an ErrorCategory"
        );
        assert!(action.len() > 30, "{code}: say what to do next: {action}");
        assert!(
            !action.contains("--"),
            "{code}: name cmdlet parameters, not azcm flags: {action}"
        );
        assert!(
            actions.insert(action.clone()),
            "{code}: its next step is another code's"
        );
        assert!(mapped.insert(code.clone()), "{code} is mapped twice");
    }
    let unmapped: Vec<_> = known.difference(&mapped).collect();
    assert!(
        unmapped.is_empty(),
        "codes azcm emits that the module does not map: {unmapped:?}"
    );
}

#[test]
fn every_object_type_has_a_view() {
    let xml = std::fs::read_to_string(module_dir().join("AzcmAgent.Format.ps1xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("Format.ps1xml is well-formed XML");
    let mut viewed = BTreeSet::new();
    for view in doc.descendants().filter(|n| n.has_tag_name("View")) {
        for t in view.descendants().filter(|n| n.has_tag_name("TypeName")) {
            viewed.insert(t.text().unwrap().trim().to_string());
        }
        if let Some(table) = view.descendants().find(|n| n.has_tag_name("TableControl")) {
            let headers = table
                .descendants()
                .filter(|n| n.has_tag_name("TableColumnHeader"))
                .count();
            for row in table
                .descendants()
                .filter(|n| n.has_tag_name("TableRowEntry"))
            {
                let items = row
                    .descendants()
                    .filter(|n| n.has_tag_name("TableColumnItem"))
                    .count();
                assert_eq!(
                    headers, items,
                    "a table view needs as many headers as items"
                );
            }
        }
    }
    let mut files = Vec::new();
    collect_ps_files(&module_dir(), &mut files);
    let mut typed = 0;
    for path in files {
        let file = parse(&path);
        for entry in descendants(file.root())
            .into_iter()
            .filter(|n| n.kind() == "hash_entry")
        {
            let key = file.text(child_of_kind(entry, "key_expression").unwrap());
            if key == "PSTypeName" {
                for name in strings_in(&file, entry) {
                    assert!(
                        viewed.contains(&name),
                        "{}: {name} has no view in AzcmAgent.Format.ps1xml",
                        file.name()
                    );
                    typed += 1;
                }
            }
        }
    }
    assert!(typed >= 4);
}
