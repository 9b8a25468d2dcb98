fn main() {
    let _ = heisen::critical_section!(withdraw);
}
