//! The load generator (being written).
fn main() {
    eprintln!("podium-load: not built yet");
    std::process::exit(2);
}
