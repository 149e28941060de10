//! Stateful local emulator of the Nairi public REST API.
