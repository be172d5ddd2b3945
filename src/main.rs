fn main() {
    std::process::exit(azcm::main_with_args(std::env::args_os().collect()));
}
