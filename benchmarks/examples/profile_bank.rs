//! A bank loop to profile with `perf record` (one thread, as long as asked).
use stm_benchmarks::bank::StmCore;
use stm_benchmarks::rng::Rng;
use stm_benchmarks::threads::SharedOp;

fn main() {
    let ops: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let bank = StmCore::<stm_benchmarks::bank::NoWork>::new();
    let mut rng = Rng::new(1);
    let start = std::time::Instant::now();
    for _ in 0..ops {
        bank.op(&mut rng);
    }
    let elapsed = start.elapsed();
    println!(
        "{:.1} ns per transfer",
        elapsed.as_nanos() as f64 / ops as f64
    );
}
