//! The command line's print macros, which never panic: std's `println!` panics when
//! stdout or stderr is full or closed (`podium serve > /dev/full`, `podium links | head
//! -1`), and a closed terminal must not stop a running meeting. What cannot be written is
//! dropped. Included first (`#[macro_use]`), so every CLI module uses these.

/// `println!` that drops what cannot be written.
macro_rules! println {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stdout(), $($t)*); }};
}
/// `print!` that drops what cannot be written.
macro_rules! print {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(std::io::stdout(), $($t)*); }};
}
/// `eprintln!` that drops what cannot be written.
macro_rules! eprintln {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(std::io::stderr(), $($t)*); }};
}
