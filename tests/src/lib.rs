//! Shared support for relent's cross-crate and end-to-end tests.
//!
//! The tests themselves live in `tests/tests/`; this library holds what they share.
//!
//! - [`server`]: a scripted HTTP/1.1 server on `127.0.0.1` that answers each request
//!   with the next step of a script (a status with headers, a connection reset, a
//!   clean close, a hang, a trickled body, a delay) and records every request it
//!   received. It is one self-contained file, so the reqwest adapter's demo includes
//!   it with `#[path]` instead of depending on this unpublished crate.

pub mod dice;
pub mod server;

/// The virtual-time simulator of many retry machines against one server.
pub mod sim;

/// The repository README's Rust examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
