//! The check stages, one module each.

pub mod items;
