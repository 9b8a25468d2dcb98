fn main() {
    let code = cargo_heisen::cli::main_with_args(std::env::args_os().collect());
    std::process::exit(code);
}
