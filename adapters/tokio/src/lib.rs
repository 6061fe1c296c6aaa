#![doc = include_str!("../README.md")]

pub mod clock;
pub mod seed;
mod shared;

pub use shared::{SharedBudget, SharedDeadlines};
