// mimalloc instead of the system allocator: a check allocates and frees millions of small
// syntax-tree nodes and facts, and glibc's malloc spent about a third of all samples on them
// (consolidating and unlinking free chunks). The corpus bench sets the same allocator, so its
// bare-parse baseline is measured under it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = cargo_heisen::cli::main_with_args(std::env::args_os().collect());
    std::process::exit(code);
}
