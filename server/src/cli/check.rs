//! `podium agenda check FILE`: validates an agenda file and prints its summary, or every
//! problem with its line and column.

use podium_protocol::Agenda;
use std::path::Path;

/// Checks `file`; the process's exit code (0 valid, 1 not).
pub fn check(file: &Path) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", file.display());
            return 1;
        }
    };
    match Agenda::from_toml(&text) {
        Ok(agenda) => {
            print!("{}", agenda.summary());
            println!("{}: ok", file.display());
            0
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{}:{e}", file.display());
            }
            eprintln!("{}: {} problem(s)", file.display(), errors.0.len());
            1
        }
    }
}
