//! Nothing lives here: the programs are the files beside this one, run with
//! `cargo run -p vendrome-examples --example NAME`.
