//! Finding Japanese fonts at run time (no font files are shipped) and ordering them into
//! fallback chains: the primary font first, then fonts that cover what it lacks (𠮷 U+20BB7
//! is only in Noto CJK; BIZ UD and IPAex do not have it).

use crate::PdfError;
use rustybuzz::ttf_parser;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where Debian puts the fonts daiko prints with, best first. BIZ UD Gothic appears under
/// two folder names (`morisawa` in older packaging, `bizud-gothic` in bookworm).
const SYSTEM_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/morisawa/BIZUDGothic-Regular.ttf",
    "/usr/share/fonts/truetype/morisawa/BIZUDGothic-Bold.ttf",
    "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Regular.ttf",
    "/usr/share/fonts/truetype/bizud-gothic/BIZUDGothic-Bold.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf",
    "/usr/share/fonts/opentype/noto/NotoSansCJKjp-Bold.otf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
];

/// One face of one font file, loaded.
pub(crate) struct FontFile {
    pub(crate) path: PathBuf,
    pub(crate) index: u32,
    pub(crate) family: String,
    pub(crate) bold: bool,
    pub(crate) data: Arc<Vec<u8>>,
    pub(crate) font: krilla::text::Font,
}

/// The fonts a document is printed with: a regular and a bold fallback chain over the
/// loaded font files. Cheap to share by reference; load once per process.
pub struct Fonts {
    pub(crate) files: Vec<FontFile>,
    /// Indexes into `files`, primary first.
    pub(crate) regular: Vec<usize>,
    /// Bold faces first, then the regular chain (a bold run falls back to regular glyphs
    /// rather than to tofu).
    pub(crate) bold: Vec<usize>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("regular", &self.chain_names(false))
            .field("bold", &self.chain_names(true))
            .finish()
    }
}

impl Fonts {
    /// Finds fonts: the folder in `DAIKO_FONT_DIR` when set, else the Debian paths of
    /// fonts-morisawa-bizud-gothic, fonts-noto-cjk and fonts-ipaexfont.
    pub fn discover() -> Result<Fonts, PdfError> {
        if let Some(dir) = std::env::var_os("DAIKO_FONT_DIR").filter(|d| !d.is_empty()) {
            return Fonts::from_dir(PathBuf::from(dir));
        }
        let mut seen_names: Vec<String> = Vec::new();
        let mut paths = Vec::new();
        for p in SYSTEM_FONTS {
            let path = PathBuf::from(p);
            let name = file_name(&path);
            if path.is_file() && !seen_names.contains(&name) {
                seen_names.push(name);
                paths.push(path);
            }
        }
        Fonts::from_files(&paths, &SYSTEM_FONTS.join(", "))
    }

    /// Loads every `.ttf`, `.otf`, `.ttc` and `.otc` file of `dir` (not recursive) and
    /// orders them: BIZ UD Gothic, Noto Sans CJK, IPAex Gothic, then the rest by name.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Fonts, PdfError> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|source| PdfError::FontIo {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if path.is_file() && matches!(ext.as_str(), "ttf" | "otf" | "ttc" | "otc") {
                paths.push(path);
            }
        }
        Fonts::from_files(&paths, &dir.display().to_string())
    }

    /// The fallback chain as "family (file#index)", primary first, for logs and reports.
    pub fn chain_names(&self, bold: bool) -> Vec<String> {
        let chain = if bold { &self.bold } else { &self.regular };
        chain
            .iter()
            .filter_map(|&i| self.files.get(i))
            .map(|f| format!("{} ({}#{})", f.family, f.path.display(), f.index))
            .collect()
    }

    /// Whether some font of the regular chain has a glyph for `c` (𠮷 needs Noto CJK).
    pub fn has_glyph(&self, c: char) -> bool {
        self.regular
            .iter()
            .filter_map(|&i| self.files.get(i))
            .any(|f| {
                ttf_parser::Face::parse(&f.data, f.index)
                    .map(|face| face.glyph_index(c).is_some())
                    .unwrap_or(false)
            })
    }

    fn from_files(paths: &[PathBuf], searched: &str) -> Result<Fonts, PdfError> {
        let mut files = Vec::new();
        for path in paths {
            // A broken or non-font file in a font folder is skipped, not fatal; a folder
            // with nothing usable is reported below.
            if let Ok(Some(f)) = load(path) {
                files.push(f);
            }
        }
        files.sort_by(|a, b| {
            (rank(&a.path), file_name(&a.path)).cmp(&(rank(&b.path), file_name(&b.path)))
        });
        let regular: Vec<usize> = (0..files.len()).filter(|&i| !files[i].bold).collect();
        let mut bold: Vec<usize> = (0..files.len()).filter(|&i| files[i].bold).collect();
        bold.extend(regular.iter().copied());
        // Without any regular face, bold faces carry the regular text too.
        let regular = if regular.is_empty() {
            bold.clone()
        } else {
            regular
        };
        let covers_japanese = ['あ', '漢', 'ア'].iter().all(|&c| {
            regular.iter().any(|&i| {
                ttf_parser::Face::parse(&files[i].data, files[i].index)
                    .map(|face| face.glyph_index(c).is_some())
                    .unwrap_or(false)
            })
        });
        if !covers_japanese {
            return Err(PdfError::NoFonts {
                searched: searched.to_string(),
            });
        }
        Ok(Fonts {
            files,
            regular,
            bold,
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Preference among known families (lower is better).
fn rank(path: &Path) -> u8 {
    let name = file_name(path).to_ascii_lowercase();
    if name.starts_with("bizudgothic") {
        0
    } else if name.starts_with("bizudpgothic") {
        1
    } else if name.starts_with("notosanscjk") {
        2
    } else if name.starts_with("ipaexg") {
        3
    } else if name.starts_with("ipag") {
        4
    } else {
        5
    }
}

/// Loads the face to use from one file: for a collection (TTC), the Japanese member.
fn load(path: &Path) -> Result<Option<FontFile>, PdfError> {
    let bytes = std::fs::read(path).map_err(|source| PdfError::FontIo {
        path: path.to_path_buf(),
        source,
    })?;
    let count = ttf_parser::fonts_in_collection(&bytes).unwrap_or(1);
    let mut chosen: Option<(u32, String, bool)> = None;
    for index in 0..count {
        let Ok(face) = ttf_parser::Face::parse(&bytes, index) else {
            continue;
        };
        let family = family_name(&face).unwrap_or_else(|| file_name(path));
        let japanese = family.contains("JP") || family.contains("Japanese");
        if chosen.is_none() || japanese {
            chosen = Some((
                index,
                family,
                face.is_bold() || face.weight().to_number() >= 600,
            ));
        }
        if japanese {
            break;
        }
    }
    let Some((index, family, bold_face)) = chosen else {
        return Ok(None);
    };
    let bold = bold_face || file_name(path).to_ascii_lowercase().contains("bold");
    let data = Arc::new(bytes);
    let Some(font) = krilla::text::Font::new(krilla::Data::from(data.clone()), index) else {
        return Ok(None);
    };
    Ok(Some(FontFile {
        path: path.to_path_buf(),
        index,
        family,
        bold,
        data,
        font,
    }))
}

/// The family name (typographic family first, then the legacy one), in English when the
/// font has several.
fn family_name(face: &ttf_parser::Face<'_>) -> Option<String> {
    let names: Vec<_> = face.names().into_iter().collect();
    for id in [
        ttf_parser::name_id::TYPOGRAPHIC_FAMILY,
        ttf_parser::name_id::FAMILY,
    ] {
        let mut found = None;
        for n in names.iter().filter(|n| n.name_id == id) {
            if let Some(s) = n.to_string() {
                let english = n.language_id == 0x0409;
                if found.is_none() || english {
                    found = Some(s);
                }
                if english {
                    break;
                }
            }
        }
        if found.is_some() {
            return found;
        }
    }
    None
}
