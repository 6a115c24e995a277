fn main() -> std::process::ExitCode {
    // Like other command-line tools, stop quietly when the reader of our output goes
    // away (`flowc run ... | head`), instead of failing on a broken pipe.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    flowc::cli::main()
}
