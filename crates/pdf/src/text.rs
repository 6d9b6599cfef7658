//! Text: font fallback per character run, shaping (rustybuzz), and line breaking for
//! Japanese (a break may fall between any two CJK characters, Latin words stay whole,
//! 禁則処理 keeps 。、」 and small kana off the start of a line and 「（ off its end).

use crate::PdfError;
use crate::fonts::Fonts;
use krilla::text::{GlyphId, KrillaGlyph};
use std::ops::Range;

/// Parsed faces of a [`Fonts`], borrowed for one document.
pub(crate) struct Shaper<'f> {
    fonts: &'f Fonts,
    /// One per `fonts.files` entry (same index).
    faces: Vec<rustybuzz::Face<'f>>,
}

/// One glyph, positions in em (multiply by the font size).
#[derive(Debug, Clone)]
struct Glyph {
    font: usize,
    id: u32,
    advance: f32,
    x_offset: f32,
    y_offset: f32,
    /// Byte range of the cluster in the shaped text.
    cluster: Range<usize>,
}

/// A paragraph shaped in one style: glyphs plus the units (clusters) lines break between.
pub(crate) struct Shaped {
    text: String,
    glyphs: Vec<Glyph>,
    units: Vec<Unit>,
}

#[derive(Debug, Clone)]
struct Unit {
    bytes: Range<usize>,
    glyphs: Range<usize>,
    width: f32,
    space: bool,
    /// A line may begin with this unit.
    break_before: bool,
}

/// One run of glyphs of one font, ready for `Surface::draw_glyphs`.
#[derive(Debug, Clone)]
pub(crate) struct DrawRun {
    pub(crate) font: usize,
    /// x offset of the run from the line start, in pt.
    pub(crate) x: f32,
    pub(crate) text: String,
    pub(crate) glyphs: Vec<KrillaGlyph>,
}

/// One laid-out line.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) width: f32,
    pub(crate) runs: Vec<DrawRun>,
}

impl<'f> Shaper<'f> {
    pub(crate) fn new(fonts: &'f Fonts) -> Result<Self, PdfError> {
        let mut faces = Vec::with_capacity(fonts.files.len());
        for f in &fonts.files {
            let face =
                rustybuzz::Face::from_slice(&f.data, f.index).ok_or_else(|| PdfError::BadFont {
                    path: f.path.clone(),
                })?;
            faces.push(face);
        }
        Ok(Shaper { fonts, faces })
    }

    /// Shapes `text` (newlines and other controls count as spaces; split paragraphs first).
    pub(crate) fn shape(&self, text: &str, bold: bool) -> Shaped {
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let chain = if bold {
            &self.fonts.bold
        } else {
            &self.fonts.regular
        };
        let primary = chain.first().copied().unwrap_or(0);
        // Itemize: the first font of the chain that has the character; marks, variation
        // selectors and spaces stay with the run they follow.
        let mut runs: Vec<(usize, Range<usize>)> = Vec::new();
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            let attach = c == ' ' || is_mark(c);
            let font = match runs.last() {
                Some((f, _)) if attach => *f,
                _ => chain
                    .iter()
                    .copied()
                    .find(|&f| {
                        self.faces
                            .get(f)
                            .and_then(|face| face.glyph_index(c))
                            .is_some()
                    })
                    .unwrap_or(primary),
            };
            match runs.last_mut() {
                Some((f, r)) if *f == font => r.end = end,
                _ => runs.push((font, i..end)),
            }
        }
        let mut glyphs = Vec::new();
        for (font, range) in runs {
            let Some(face) = self.faces.get(font) else {
                continue;
            };
            let upem = face.units_per_em().max(1) as f32;
            let mut buffer = rustybuzz::UnicodeBuffer::new();
            buffer.push_str(&text[range.clone()]);
            buffer.set_direction(rustybuzz::Direction::LeftToRight);
            let out = rustybuzz::shape(face, &[], buffer);
            let infos = out.glyph_infos();
            let positions = out.glyph_positions();
            for (k, (info, pos)) in infos.iter().zip(positions).enumerate() {
                let start = range.start + info.cluster as usize;
                let end = infos
                    .iter()
                    .skip(k + 1)
                    .map(|n| range.start + n.cluster as usize)
                    .find(|&c| c != start)
                    .unwrap_or(range.end);
                glyphs.push(Glyph {
                    font,
                    id: info.glyph_id,
                    advance: pos.x_advance as f32 / upem,
                    x_offset: pos.x_offset as f32 / upem,
                    y_offset: pos.y_offset as f32 / upem,
                    cluster: start..end.max(start),
                });
            }
        }
        let units = units(&text, &glyphs);
        Shaped {
            text,
            glyphs,
            units,
        }
    }

    /// Width of `text` at `size` pt, on one line.
    pub(crate) fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        self.shape(text, bold)
            .units
            .iter()
            .map(|u| u.width)
            .sum::<f32>()
            * size
    }

    /// Breaks `text` into lines no wider than `max` pt (hard breaks at `\n`).
    pub(crate) fn lines(&self, text: &str, bold: bool, size: f32, max: f32) -> Vec<Line> {
        let mut out = Vec::new();
        for para in text.split('\n') {
            let shaped = self.shape(para, bold);
            for range in break_lines(&shaped.units, max / size) {
                out.push(shaped.line(range, size));
            }
        }
        out
    }
}

impl Shaped {
    /// The drawable line made of `units[range]` (trailing spaces not counted in width).
    fn line(&self, range: Range<usize>, size: f32) -> Line {
        let units = &self.units[range.clone()];
        let width = units
            .iter()
            .rev()
            .skip_while(|u| u.space)
            .map(|u| u.width)
            .sum::<f32>()
            * size;
        let (Some(first), Some(last)) = (units.first(), units.last()) else {
            return Line {
                width: 0.0,
                runs: Vec::new(),
            };
        };
        let glyphs = &self.glyphs[first.glyphs.start..last.glyphs.end];
        let mut runs: Vec<DrawRun> = Vec::new();
        let mut x = 0.0;
        let mut i = 0;
        while i < glyphs.len() {
            let font = glyphs[i].font;
            let j = glyphs[i..]
                .iter()
                .position(|g| g.font != font)
                .map_or(glyphs.len(), |p| i + p);
            let run = &glyphs[i..j];
            let start = run.iter().map(|g| g.cluster.start).min().unwrap_or(0);
            let end = run.iter().map(|g| g.cluster.end).max().unwrap_or(start);
            let text = self.text.get(start..end).unwrap_or("").to_string();
            let kg: Vec<KrillaGlyph> = run
                .iter()
                .map(|g| {
                    KrillaGlyph::new(
                        GlyphId::new(g.id),
                        g.advance,
                        g.x_offset,
                        g.y_offset,
                        0.0,
                        (g.cluster.start - start)..(g.cluster.end - start),
                        None,
                    )
                })
                .collect();
            let run_width: f32 = run.iter().map(|g| g.advance).sum::<f32>() * size;
            runs.push(DrawRun {
                font,
                x,
                text,
                glyphs: kg,
            });
            x += run_width;
            i = j;
        }
        Line { width, runs }
    }
}

/// Groups glyphs into clusters (the smallest unbreakable pieces) and marks where a line
/// may start.
fn units(text: &str, glyphs: &[Glyph]) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for (gi, g) in glyphs.iter().enumerate() {
        match units.last_mut() {
            Some(u) if u.bytes.start == g.cluster.start => {
                u.glyphs.end = gi + 1;
                u.width += g.advance;
                u.bytes.end = u.bytes.end.max(g.cluster.end);
            }
            _ => units.push(Unit {
                bytes: g.cluster.clone(),
                glyphs: gi..gi + 1,
                width: g.advance,
                space: false,
                break_before: false,
            }),
        }
    }
    for k in 0..units.len() {
        let this = text.get(units[k].bytes.clone()).unwrap_or("");
        units[k].space = this.chars().all(|c| c == ' ' || c == '\u{3000}');
        if k == 0 {
            continue;
        }
        let prev = text
            .get(units[k - 1].bytes.clone())
            .and_then(|s| s.chars().last());
        let next = this.chars().next();
        if let (Some(p), Some(n)) = (prev, next) {
            units[k].break_before = can_break(p, n);
        }
    }
    units
}

/// Whether a line may break between `prev` and `next`.
pub(crate) fn can_break(prev: char, next: char) -> bool {
    if next == ' ' {
        return false; // spaces stay at the end of the line
    }
    if prev == ' ' || prev == '\u{3000}' {
        return !no_line_start(next);
    }
    if no_line_start(next) || no_line_end(prev) {
        return false;
    }
    if is_cjk(prev) || is_cjk(next) {
        return true;
    }
    // Paths such as DATA/h1234….xml may break after a slash.
    prev == '/'
}

/// Characters that must not begin a line (行頭禁則).
fn no_line_start(c: char) -> bool {
    "、。，．,.・：；:;？！?!゛゜ヽヾゝゞ々〻ー－‐）)］]｝}」』】〕〉》〙〗〟’”％%ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ…‥"
        .contains(c)
}

/// Characters that must not end a line (行末禁則).
fn no_line_end(c: char) -> bool {
    "（(［[｛{「『【〔〈《〘〖〝‘“".contains(c)
}

/// Ideographs, kana, CJK punctuation and full-width forms: a line may break around them.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FFF      // radicals, ideographic description
        | 0x3000..=0x303F    // CJK symbols and punctuation
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x3100..=0x31FF    // bopomofo, katakana phonetic extensions
        | 0x3200..=0x4DBF    // enclosed CJK, compatibility, ext A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xAC00..=0xD7AF    // hangul
        | 0xF900..=0xFAFF    // compatibility ideographs (﨑)
        | 0xFE30..=0xFE4F    // CJK compatibility forms
        | 0xFF00..=0xFFEF    // full-width and half-width forms
        | 0x20000..=0x3FFFF) // ext B and beyond (𠮷)
}

/// Combining marks, variation selectors (IVS) and joiners: never start a font run.
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x200B..=0x200D | 0x3099..=0x309A | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// Greedy line breaking: ranges of units, each at most `max_em` wide (trailing spaces
/// hang). A piece without any allowed break that is wider than a line is cut anywhere.
fn break_lines(units: &[Unit], max_em: f32) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    if units.is_empty() {
        lines.push(0..0);
        return lines;
    }
    let mut start = 0;
    while start < units.len() {
        let mut width = 0.0;
        let mut last_break = None;
        let mut end = units.len();
        for (i, u) in units.iter().enumerate().skip(start) {
            if i > start && u.break_before {
                last_break = Some(i);
            }
            width += u.width;
            if width > max_em + 1e-4 && i > start && !u.space {
                end = last_break.unwrap_or(i);
                break;
            }
        }
        lines.push(start..end);
        start = end;
        // A line never starts with the spaces a break fell after.
        while start < units.len() && units[start].space {
            start += 1;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(width: f32, space: bool, break_before: bool) -> Unit {
        Unit {
            bytes: 0..0,
            glyphs: 0..0,
            width,
            space,
            break_before,
        }
    }

    #[test]
    fn kinsoku_and_latin_words() {
        assert!(can_break('本', '日'));
        assert!(!can_break('日', '。'), "no 。 at line start");
        assert!(!can_break('「', '本'), "no 「 at line end");
        assert!(!can_break('本', '」'));
        assert!(!can_break('き', 'ょ'), "small kana stays with its syllable");
        assert!(!can_break('a', 'b'), "Latin words stay whole");
        assert!(can_break(' ', 'b'));
        assert!(can_break('a', '本'));
        assert!(can_break('/', 'h'));
        assert!(can_break('𠮷', '野'));
    }

    #[test]
    fn greedy_breaks_fall_on_opportunities() {
        // "ab cd": a b ␠ c d, break allowed before c only.
        let u = vec![
            unit(1.0, false, false),
            unit(1.0, false, false),
            unit(1.0, true, false),
            unit(1.0, false, true),
            unit(1.0, false, false),
        ];
        assert_eq!(break_lines(&u, 3.5), vec![0..3, 3..5]);
        // No opportunity: cut where it overflows.
        let long: Vec<Unit> = (0..5).map(|_| unit(1.0, false, false)).collect();
        assert_eq!(break_lines(&long, 2.0), vec![0..2, 2..4, 4..5]);
    }
}
