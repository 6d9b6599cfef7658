//! The official V08 schema sets as daiko needs them for A-07 (CHECKS.md): each file's path
//! below `XSD/` and the SHA-256 of its content with line endings normalised (a leading UTF-8
//! BOM dropped, CRLF read as LF; see [`super::xsd::normalised_sha256`]). The schema files
//! themselves stay in `../shared/reference/xsd/{2018,2024}` and are not copied here.
//!
//! Generated, not written by hand: `cargo test -p daiko-check --test xsd_table` recomputes
//! this file from `../shared/reference/xsd` and, when it differs, fails printing the new
//! text to paste here.

/// The set for FY2018–FY2023 (第3期), `reference/xsd/2018`.
pub const FY2018: &[(&str, &str)] = &[
    (
        "cc08_V08.xsd",
        "8f0852a3a7b1822adbaddc5c16ffcf43b98bd9f1a505fdac143c6ec3f0922376",
    ),
    (
        "co08_V08.xsd",
        "600d213387f307ef85846f9bebb4463de94463778eec6839c5394bc9be9f5190",
    ),
    (
        "coreschemas/datatypes-base_hcgv08.xsd",
        "910f074960a7af744ec80405971b79bece7533f9cb51e7a4d684d69009ea472e",
    ),
    (
        "coreschemas/datatypes_hcgv08.xsd",
        "67f0d98507f5fb5a14b61900a704e8f5e2efe46b5e6248c8e950039727c9af6f",
    ),
    (
        "coreschemas/narrativeBlock_hcgv08.xsd",
        "d827061fe5aa40c763ccbf79c5179862e1962d913fb91531ac8c5bbeeabc027e",
    ),
    (
        "coreschemas/voc_hcgv08.xsd",
        "85ceb669439d32cae8998c86dfffe24f39382377332a77613804a67dd00d3d24",
    ),
    (
        "gc08_V08.xsd",
        "82a66bc37fdc3ada9eccdce863e53f52f986ee2a1601c105f1ada4e2c169f22b",
    ),
    (
        "hc08_V08.xsd",
        "325d61b14577895c2f78279eecc65a663bd831db6e9769a25f6f7964fff2dc82",
    ),
    (
        "hg08_V08.xsd",
        "5fee8811b5fd943899b2abacb3a2ed2690b31eaf60a0d1c0554e8da4e8e2f0e3",
    ),
    (
        "ix08_V08.xsd",
        "3bc545e8a03041a5a97213ed294ea72b79bc3d5317af1e833f33cf5cac2ae902",
    ),
    (
        "su08_V08.xsd",
        "0217344547ab3ea6269454aa67dd6ad98070e269db05edcc87b345c0bf802db4",
    ),
];
/// The set for FY2024 onwards (第4期), `reference/xsd/2024`.
pub const FY2024: &[(&str, &str)] = &[
    (
        "cc08_V08.xsd",
        "fef15b152722397959f8cf4d818236dd8f32b1c6a8c4be8cf26751e9d3e5b8f7",
    ),
    (
        "co08_V08.xsd",
        "5fe20d205f14c956312b7e72c4e743c2c90fd476ce64e31bda6ad0e22992223e",
    ),
    (
        "coreschemas/datatypes-base_hcgv08.xsd",
        "910f074960a7af744ec80405971b79bece7533f9cb51e7a4d684d69009ea472e",
    ),
    (
        "coreschemas/datatypes_hcgv08.xsd",
        "67f0d98507f5fb5a14b61900a704e8f5e2efe46b5e6248c8e950039727c9af6f",
    ),
    (
        "coreschemas/narrativeBlock_hcgv08.xsd",
        "d827061fe5aa40c763ccbf79c5179862e1962d913fb91531ac8c5bbeeabc027e",
    ),
    (
        "coreschemas/voc_hcgv08.xsd",
        "85ceb669439d32cae8998c86dfffe24f39382377332a77613804a67dd00d3d24",
    ),
    (
        "gc08_V08.xsd",
        "0a368dbd45308c0bcc70d884b1860f7b676f86ce3da6d1c00b4f6bd6be1508b2",
    ),
    (
        "hc08_V08.xsd",
        "325d61b14577895c2f78279eecc65a663bd831db6e9769a25f6f7964fff2dc82",
    ),
    (
        "hg08_V08.xsd",
        "5fee8811b5fd943899b2abacb3a2ed2690b31eaf60a0d1c0554e8da4e8e2f0e3",
    ),
    (
        "ix08_V08.xsd",
        "0cae59dbe6f6e5d9c1335fa8ff46bb8af58b89dc2947a35fdf8c1d4fec2d14fc",
    ),
    (
        "su08_V08.xsd",
        "5be180da5aa998c6499f73f1ab01c2de52a88e1fa7feaf0bac2db206e1e03c4b",
    ),
];
