//! Integration tests of the emulator over real HTTP.

mod abuse;
mod admin;
mod common;
mod control_api;
mod faults;
mod ids;
mod lifecycle;
mod load;
mod request_log;
mod resources;
mod routing;
mod validation;
