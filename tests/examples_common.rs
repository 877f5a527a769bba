//! The unit tests of the examples' shared code (`examples/common/`: the Maildir, delivery
//! reports, NTLM, the tokio transport). `cargo test` builds the examples but runs none of
//! their tests, and marking an example `test = true` would build it as a test harness
//! instead of the program the peer tests start; compiling the module here runs its tests
//! with the rest.

#[path = "../examples/common/mod.rs"]
mod common;
