//! keqing-care: relationship care (客情维护).
pub mod error;
pub mod lunar;
pub mod template;
