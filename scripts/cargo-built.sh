# Sourced by the scripts that run what cargo builds. `cargo_built ARGS…` runs
# `cargo build ARGS…` and prints the path of each executable it built, one per line, as cargo
# reports it — right wherever CARGO_TARGET_DIR or .cargo/config put target/.
# `built_path NAME` picks one of them out of $built.
cargo_built() {
    cargo build "$@" --message-format=json-render-diagnostics |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'
}

built_path() {
    local path
    path=$(grep -E "/$1(\.exe)?\$" <<<"$built" | head -1)
    if [ -z "$path" ] || [ ! -x "$path" ]; then
        echo "cargo did not report building $1" >&2
        return 1
    fi
    printf '%s\n' "$path"
}
