//! # daiko-items — the item master (項目マスタ) and 階層化
//!
//! (in progress)
