//! Where PowerShell 7 is: `pwsh` on PATH, else the shared tools' launcher (../shared/tools/pwsh
//! beside the repository). Shared by the tests and the benchmarks that run it.

use std::path::{Path, PathBuf};

pub fn pwsh(repo: &Path) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("pwsh"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| repo.join("../shared/tools/pwsh"))
}
