//! `vendrome keys generate`

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a new signing key (`kid:secret`) for VENDROME_SIGNING_KEYS.
    Generate,
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Generate => println!("{}", vendrome_server::auth::KeyRing::generate_spec()),
    }
    Ok(())
}
