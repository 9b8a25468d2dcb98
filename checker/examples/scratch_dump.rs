fn main() {
    let args: Vec<String> = std::env::args().collect();
    let src = std::fs::read_to_string(&args[1]).unwrap();
    let facts = cargo_heisen::analysis::analyze_file(&syn::parse_file(&src).unwrap());
    for f in &facts.functions {
        if !f.name.ends_with(&args[2]) {
            continue;
        }
        println!("fn {}", f.name);
        for e in &f.events {
            println!(
                "  e{} {:?} {} recv={:?} args={:?} rd={:?} d={:?} c={:?} loops={:?} cd={} used={}",
                e.id,
                e.kind,
                e.name,
                e.receiver.as_ref().map(|r| &r.text),
                e.args.iter().map(|a| &a.text).collect::<Vec<_>>(),
                e.receiver_deps,
                e.data_deps,
                e.control_deps,
                e.loops,
                e.closure_depth,
                e.value_used
            );
        }
        for (i, l) in f.loops.iter().enumerate() {
            println!(
                "  loop{} {:?} line {}-{} header={:?} exit={:?}",
                i, l.kind, l.region.line, l.region.end_line, l.header_deps, l.exit_deps
            );
        }
        for c in &f.cases {
            println!(
                "  case {} neg={} scr={:?} line {}",
                c.pattern, c.negated, c.scrutinee, c.region.line
            );
        }
        for x in &f.exits {
            println!(
                "  exit ret={} line {} loops={:?} c={:?}",
                x.is_return, x.region.line, x.loops, x.control_deps
            );
        }
        println!("  returns={:?}", f.returns);
    }
}
