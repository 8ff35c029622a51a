//! Library side of the `noisekit` CLI: the reproduction framework, the repros, the golden-fixture
//! registry and data loaders. The binary (`main.rs`) only parses arguments.

pub mod commands;
pub mod data;
pub mod framework;
pub mod golden;
pub mod images;
pub mod repros;
