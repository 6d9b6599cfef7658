//! A small layout layer for business forms: flowing paragraphs, ruled tables whose header
//! row repeats on every page, absolutely placed text (for window-envelope addresses), and
//! page decoration (running header, footer, "n / N"). Pages are collected as display
//! lists first, so the page count is known before anything is written.

use crate::PdfError;
use crate::fonts::Fonts;
use crate::text::{Line, Shaper};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;

/// Millimetres to PDF points.
pub fn mm(v: f32) -> f32 {
    v * 72.0 / 25.4
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub const BLACK: Color = Color(0, 0, 0);
    /// Secondary text (running header, footer).
    pub const GRAY: Color = Color(90, 90, 90);
    /// Header rows and label cells.
    pub const SHADE: Color = Color(232, 232, 232);
}

/// Size, weight and colour of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub size: f32,
    pub bold: bool,
    pub color: Color,
}

impl Style {
    pub const fn regular(size: f32) -> Style {
        Style {
            size,
            bold: false,
            color: Color::BLACK,
        }
    }
    pub const fn bold(size: f32) -> Style {
        Style {
            size,
            bold: true,
            color: Color::BLACK,
        }
    }
    pub const fn with_color(self, color: Color) -> Style {
        Style { color, ..self }
    }
    /// Line pitch: 1.45 em suits Japanese text at 9–10 pt.
    pub fn line_height(&self) -> f32 {
        self.size * 1.45
    }
}

/// Horizontal alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Page size and margins, in pt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSpec {
    pub width: f32,
    pub height: f32,
    pub margin_top: f32,
    pub margin_bottom: f32,
    pub margin_left: f32,
    pub margin_right: f32,
}

impl PageSpec {
    /// A4 portrait (210 × 297 mm) with the same margin on every side.
    pub fn a4_portrait(margin_mm: f32) -> PageSpec {
        PageSpec {
            width: mm(210.0),
            height: mm(297.0),
            margin_top: mm(margin_mm),
            margin_bottom: mm(margin_mm),
            margin_left: mm(margin_mm),
            margin_right: mm(margin_mm),
        }
    }
}

/// A table column: header title, share of the width, default alignment and shading.
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    /// Relative width; the columns share the body width in proportion.
    pub weight: f32,
    pub align: Align,
    /// Background of this column's body cells (label columns of a key/value grid).
    pub fill: Option<Color>,
    pub bold: bool,
}

impl Column {
    pub fn new(title: impl Into<String>, weight: f32) -> Column {
        Column {
            title: title.into(),
            weight,
            align: Align::Left,
            fill: None,
            bold: false,
        }
    }
    pub fn align(mut self, align: Align) -> Column {
        self.align = align;
        self
    }
    /// Shaded, bold body cells (labels).
    pub fn label(mut self) -> Column {
        self.fill = Some(Color::SHADE);
        self.bold = true;
        self
    }
}

/// One table cell; overrides the column's defaults where set.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    /// Number of columns covered (at least 1).
    pub span: usize,
    pub align: Option<Align>,
    pub bold: Option<bool>,
    pub fill: Option<Color>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            span: 1,
            ..Cell::default()
        }
    }
    pub fn span(mut self, n: usize) -> Cell {
        self.span = n.max(1);
        self
    }
    pub fn bold(mut self) -> Cell {
        self.bold = Some(true);
        self
    }
    pub fn align(mut self, align: Align) -> Cell {
        self.align = Some(align);
        self
    }
}

/// A ruled table. With `header`, the column titles form a header row that is repeated at
/// the top of every page the table continues on.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub header: bool,
    pub style: Style,
    /// Height kept free below the last row (e.g. for a closing 以上), so that what
    /// follows the table never stands alone on a page of its own.
    pub keep_after: f32,
}

impl Table {
    pub fn new(columns: Vec<Column>, style: Style) -> Table {
        Table {
            columns,
            rows: Vec::new(),
            header: true,
            style,
            keep_after: 0.0,
        }
    }
    /// Keeps `pt` of height free below the last row: when it does not fit, the last
    /// row moves to the next page (under the repeated header) with what follows.
    pub fn keep_after(mut self, pt: f32) -> Table {
        self.keep_after = pt.max(0.0);
        self
    }
    /// A row of plain cells.
    pub fn push_texts<S: Into<String>>(&mut self, texts: impl IntoIterator<Item = S>) {
        self.rows.push(texts.into_iter().map(Cell::new).collect());
    }
}

/// What is printed on every page around the body, and the document's metadata.
#[derive(Debug, Clone, Default)]
pub struct Decor {
    /// PDF title (metadata).
    pub title: String,
    /// BCP 47 language of the document ("ja", "en").
    pub language: String,
    /// Printed small at the top of pages 2…N.
    pub running_header: Option<String>,
    pub footer_left: String,
    pub footer_right: String,
    /// Print "n / N" centred in the footer.
    pub page_numbers: bool,
}

const THIN: f32 = 0.4;
const THICK: f32 = 0.9;
const PAD_X: f32 = 3.0;
const PAD_Y: f32 = 2.2;

enum Op {
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        line: Line,
    },
    Rule {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
    },
    Frame {
        rect: (f32, f32, f32, f32),
        width: f32,
    },
    Fill {
        rect: (f32, f32, f32, f32),
        color: Color,
    },
    /// Many filled rectangles as one path (barcode bars).
    FillMany {
        rects: Vec<(f32, f32, f32, f32)>,
        color: Color,
    },
}

/// A cell ready to draw.
struct PCell {
    x: f32,
    w: f32,
    lines: Vec<Line>,
    align: Align,
    fill: Option<Color>,
    style: Style,
}

struct PRow {
    cells: Vec<PCell>,
    /// Lines of the tallest cell.
    lines: usize,
}

/// Lays out a document page by page; [`Layout::finish`] writes the PDF.
pub struct Layout<'f> {
    fonts: &'f Fonts,
    shaper: Shaper<'f>,
    spec: PageSpec,
    pages: Vec<Vec<Op>>,
    /// Top of the free space on the current page.
    y: f32,
}

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts, spec: PageSpec) -> Result<Layout<'f>, PdfError> {
        Ok(Layout {
            fonts,
            shaper: Shaper::new(fonts)?,
            spec,
            pages: vec![Vec::new()],
            y: spec.margin_top,
        })
    }

    /// Width between the side margins.
    pub fn body_width(&self) -> f32 {
        self.spec.width - self.spec.margin_left - self.spec.margin_right
    }

    fn bottom(&self) -> f32 {
        self.spec.height - self.spec.margin_bottom
    }

    /// Free height left on the current page.
    pub fn remaining(&self) -> f32 {
        self.bottom() - self.y
    }

    /// Pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Width of `text` on one line.
    pub fn measure(&self, text: &str, style: Style) -> f32 {
        self.shaper.width(text, style.bold, style.size)
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.spec.margin_top;
    }

    /// Vertical space; at most to the bottom of the page.
    pub fn space(&mut self, pt: f32) {
        self.y = (self.y + pt).min(self.bottom());
    }

    /// Starts a new page unless `pt` of height is still free.
    pub fn keep(&mut self, pt: f32) {
        if self.remaining() < pt {
            self.new_page();
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// A horizontal rule across the body.
    pub fn rule(&mut self, width: f32) {
        let (l, r) = (
            self.spec.margin_left,
            self.spec.width - self.spec.margin_right,
        );
        let y = self.y;
        self.push(Op::Rule {
            from: (l, y),
            to: (r, y),
            width,
        });
    }

    /// A paragraph across the body width, breaking lines and pages as needed.
    pub fn paragraph(&mut self, text: &str, style: Style, align: Align) {
        let width = self.body_width();
        let lh = style.line_height();
        for line in self.shaper.lines(text, style.bold, style.size, width) {
            if self.y + lh > self.bottom() {
                self.new_page();
            }
            let x = self.spec.margin_left + offset(align, width, line.width);
            let baseline = baseline(self.y, style);
            self.push(Op::Text {
                x,
                baseline,
                style,
                line,
            });
            self.y += lh;
        }
    }

    /// Text in a box at an absolute position of the current page (e.g. the address in an
    /// envelope window); does not move the flow. Returns the height used.
    pub fn text_at(
        &mut self,
        x: f32,
        top: f32,
        width: f32,
        text: &str,
        style: Style,
        align: Align,
    ) -> f32 {
        let lh = style.line_height();
        let mut y = top;
        for line in self.shaper.lines(text, style.bold, style.size, width) {
            let lx = x + offset(align, width, line.width);
            self.push(Op::Text {
                x: lx,
                baseline: baseline(y, style),
                style,
                line,
            });
            y += lh;
        }
        y - top
    }

    /// The top of the free space on the current page (where the flow continues).
    pub fn cursor(&self) -> f32 {
        self.y
    }

    /// Moves the flow to `top` on the current page, kept between the top margin and the
    /// bottom of the body (to place a form part at a fixed height).
    pub fn set_cursor(&mut self, top: f32) {
        self.y = top.clamp(self.spec.margin_top, self.bottom());
    }

    /// A filled rectangle at an absolute position of the current page (x, top, width,
    /// height in pt); does not move the flow.
    pub fn fill_rect(&mut self, x: f32, top: f32, width: f32, height: f32, color: Color) {
        self.push(Op::Fill {
            rect: (x, top, width, height),
            color,
        });
    }

    /// Many filled rectangles `(x, top, width, height)` drawn as one path (e.g. the bars
    /// of a postal barcode); does not move the flow.
    pub fn fill_rects(&mut self, rects: Vec<(f32, f32, f32, f32)>, color: Color) {
        if !rects.is_empty() {
            self.push(Op::FillMany { rects, color });
        }
    }

    /// A rectangle outline at an absolute position of the current page; does not move the
    /// flow.
    pub fn frame_rect(&mut self, x: f32, top: f32, width: f32, height: f32, line_width: f32) {
        self.push(Op::Frame {
            rect: (x, top, width, height),
            width: line_width,
        });
    }

    /// A straight line between two absolute points of the current page (e.g. a cut line);
    /// does not move the flow.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32) {
        self.push(Op::Rule { from, to, width });
    }

    /// A ruled table; rows move whole to the next page (a row taller than a page is split
    /// between lines), and the header row is repeated on each page.
    pub fn table(&mut self, table: &Table) {
        let total: f32 = table.columns.iter().map(|c| c.weight.max(0.0)).sum();
        if table.columns.is_empty() || total <= 0.0 {
            return;
        }
        let body = self.body_width();
        let left = self.spec.margin_left;
        let mut xs = Vec::with_capacity(table.columns.len() + 1);
        let mut acc = left;
        for c in &table.columns {
            xs.push(acc);
            acc += body * c.weight.max(0.0) / total;
        }
        xs.push(left + body);

        let lh = table.style.line_height();
        let header = table.header.then(|| {
            let cells = table
                .columns
                .iter()
                .map(|c| Cell::new(c.title.clone()).bold().align(Align::Center))
                .collect::<Vec<_>>();
            let mut row = self.prepare_row(table, &xs, &cells);
            for c in &mut row.cells {
                c.fill = Some(Color::SHADE);
            }
            row
        });
        let header_h = header.as_ref().map_or(0.0, |h| row_height(h.lines, lh));
        let rows: Vec<PRow> = table
            .rows
            .iter()
            .map(|r| self.prepare_row(table, &xs, r))
            .collect();

        // Room for the header and the first line of the first row, else a new page.
        if self.remaining() < header_h + row_height(1, lh) {
            self.new_page();
        }
        let mut seg_top = self.y;
        if let Some(h) = &header {
            self.draw_row(h, 0..h.lines, lh, true);
        }
        let mut fresh = true; // no body row on this page yet
        let last = rows.len().saturating_sub(1);
        for (r, row) in rows.iter().enumerate() {
            let mut done = 0;
            while done < row.lines {
                let need = row_height(row.lines - done, lh);
                // The last row takes the table's tail with it, unless it opens a page.
                let tail = if r == last && !fresh {
                    table.keep_after
                } else {
                    0.0
                };
                if self.y + need + tail <= self.bottom() + 0.01 {
                    self.draw_row(row, done..row.lines, lh, false);
                    done = row.lines;
                    fresh = false;
                    continue;
                }
                let fit = ((self.remaining() - 2.0 * PAD_Y) / lh).floor().max(0.0) as usize;
                if fresh && fit >= 1 {
                    // Taller than a page: print what fits, continue below the next header.
                    self.draw_row(row, done..done + fit, lh, false);
                    done += fit;
                }
                self.frame(xs[0], seg_top, body);
                self.new_page();
                seg_top = self.y;
                if let Some(h) = &header {
                    self.draw_row(h, 0..h.lines, lh, true);
                }
                fresh = true;
            }
        }
        self.frame(xs[0], seg_top, body);
    }

    fn frame(&mut self, x: f32, top: f32, width: f32) {
        if self.y > top {
            let h = self.y - top;
            self.push(Op::Frame {
                rect: (x, top, width, h),
                width: THICK,
            });
        }
    }

    fn prepare_row(&self, table: &Table, xs: &[f32], cells: &[Cell]) -> PRow {
        let mut out = Vec::new();
        let mut col = 0;
        for cell in cells {
            if col >= table.columns.len() {
                break;
            }
            let end = (col + cell.span.max(1)).min(table.columns.len());
            let (x, w) = (xs[col], xs[end] - xs[col]);
            let column = &table.columns[col];
            let style = Style {
                bold: cell.bold.unwrap_or(column.bold),
                ..table.style
            };
            let lines = self.shaper.lines(
                &cell.text,
                style.bold,
                style.size,
                (w - 2.0 * PAD_X).max(style.size),
            );
            out.push(PCell {
                x,
                w,
                lines,
                align: cell.align.unwrap_or(column.align),
                fill: cell.fill.or(column.fill),
                style,
            });
            col = end;
        }
        // Missing cells at the end of a short row are drawn empty.
        if col < table.columns.len() {
            let last = table.columns.len();
            out.push(PCell {
                x: xs[col],
                w: xs[last] - xs[col],
                lines: Vec::new(),
                align: Align::Left,
                fill: None,
                style: table.style,
            });
        }
        let lines = out.iter().map(|c| c.lines.len()).max().unwrap_or(1).max(1);
        PRow { cells: out, lines }
    }

    /// Draws lines `range` of a row at the current position and moves down.
    fn draw_row(&mut self, row: &PRow, range: std::ops::Range<usize>, lh: f32, header: bool) {
        let h = row_height(range.len(), lh);
        let top = self.y;
        // Shading first, so that no fill covers a neighbour's rule.
        for cell in &row.cells {
            if let Some(color) = cell.fill {
                self.push(Op::Fill {
                    rect: (cell.x, top, cell.w, h),
                    color,
                });
            }
        }
        for (k, cell) in row.cells.iter().enumerate() {
            for (i, line) in cell
                .lines
                .iter()
                .enumerate()
                .filter(|(i, _)| range.contains(i))
            {
                let y = top + PAD_Y + (i - range.start) as f32 * lh;
                let x = cell.x + PAD_X + offset(cell.align, cell.w - 2.0 * PAD_X, line.width);
                self.push(Op::Text {
                    x,
                    baseline: baseline(y, cell.style),
                    style: cell.style,
                    line: line.clone(),
                });
            }
            if k + 1 < row.cells.len() {
                let x = cell.x + cell.w;
                self.push(Op::Rule {
                    from: (x, top),
                    to: (x, top + h),
                    width: THIN,
                });
            }
        }
        let (l, r) = (
            row.cells.first().map_or(0.0, |c| c.x),
            row.cells.last().map_or(0.0, |c| c.x + c.w),
        );
        self.push(Op::Rule {
            from: (l, top + h),
            to: (r, top + h),
            width: if header { 0.7 } else { THIN },
        });
        self.y = top + h;
    }

    /// Adds the running header and footer to every page and writes the PDF.
    pub fn finish(mut self, decor: &Decor) -> Result<Vec<u8>, PdfError> {
        let n = self.pages.len();
        let small = Style::regular(7.5).with_color(Color::GRAY);
        let spec = self.spec;
        let body = self.body_width();
        let (left, right) = (spec.margin_left, spec.width - spec.margin_right);
        let footer_top = spec.height - spec.margin_bottom + 6.0;
        for p in 0..n {
            let mut ops = Vec::new();
            if let (true, Some(h)) = (p > 0, &decor.running_header) {
                let top = spec.margin_top - small.line_height() - 4.0;
                ops.extend(self.line_ops(h, small, left, top, body, Align::Right));
            }
            ops.extend(self.line_ops(
                &decor.footer_left,
                small,
                left,
                footer_top,
                body * 0.4,
                Align::Left,
            ));
            if decor.page_numbers {
                let text = format!("{} / {}", p + 1, n);
                ops.extend(self.line_ops(
                    &text,
                    Style::regular(8.5),
                    left,
                    footer_top,
                    body,
                    Align::Center,
                ));
            }
            ops.extend(self.line_ops(
                &decor.footer_right,
                small,
                right - body * 0.4,
                footer_top,
                body * 0.4,
                Align::Right,
            ));
            if let Some(page) = self.pages.get_mut(p) {
                page.extend(ops);
            }
        }

        let mut doc = krilla::Document::new();
        let mut meta = Metadata::new().creator("daiko".to_string());
        if !decor.title.is_empty() {
            meta = meta.title(decor.title.clone());
        }
        if !decor.language.is_empty() {
            meta = meta.language(decor.language.clone());
        }
        doc.set_metadata(meta);
        let settings = PageSettings::from_wh(spec.width, spec.height).ok_or(PdfError::PageSize)?;
        for ops in &self.pages {
            let mut page = doc.start_page_with(settings.clone());
            let mut surface = page.surface();
            for op in ops {
                render(&mut surface, self.fonts, op);
            }
            surface.finish();
            page.finish();
        }
        doc.finish().map_err(|e| PdfError::Write(e.to_string()))
    }

    /// One line of text (cut to the first line) as ops, without moving the flow.
    fn line_ops(
        &self,
        text: &str,
        style: Style,
        x: f32,
        top: f32,
        width: f32,
        align: Align,
    ) -> Vec<Op> {
        self.shaper
            .lines(text, style.bold, style.size, f32::MAX / 4.0)
            .into_iter()
            .take(1)
            .map(|line| Op::Text {
                x: x + offset(align, width, line.width),
                baseline: baseline(top, style),
                style,
                line,
            })
            .collect()
    }
}

fn row_height(lines: usize, lh: f32) -> f32 {
    lines as f32 * lh + 2.0 * PAD_Y
}

fn offset(align: Align, width: f32, used: f32) -> f32 {
    match align {
        Align::Left => 0.0,
        Align::Center => ((width - used) / 2.0).max(0.0),
        Align::Right => (width - used).max(0.0),
    }
}

/// Baseline of a line whose box starts at `top`: the ideographic em box (ascent 0.88 em
/// in BIZ UD and Noto CJK) centred in the line pitch.
fn baseline(top: f32, style: Style) -> f32 {
    top + (style.line_height() - style.size) / 2.0 + style.size * 0.88
}

fn paint(c: Color) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn stroke(width: f32) -> Stroke {
    Stroke {
        paint: paint(Color::BLACK),
        width,
        ..Stroke::default()
    }
}

fn render(surface: &mut Surface<'_>, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text {
            x,
            baseline,
            style,
            line,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(Fill {
                paint: paint(style.color),
                ..Fill::default()
            }));
            for run in &line.runs {
                let Some(file) = fonts.files.get(run.font) else {
                    continue;
                };
                surface.draw_glyphs(
                    Point::from_xy(x + run.x, *baseline),
                    &run.glyphs,
                    file.font.clone(),
                    &run.text,
                    style.size,
                    false,
                );
            }
        }
        Op::Rule { from, to, width } => {
            let mut pb = PathBuilder::new();
            pb.move_to(from.0, from.1);
            pb.line_to(to.0, to.1);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*width)));
                surface.draw_path(&path);
            }
        }
        Op::Frame { rect, width } => {
            let mut pb = PathBuilder::new();
            if let Some(r) = Rect::from_xywh(rect.0, rect.1, rect.2, rect.3) {
                pb.push_rect(r);
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*width)));
                surface.draw_path(&path);
            }
        }
        Op::FillMany { rects, color } => {
            let mut pb = PathBuilder::new();
            for r in rects {
                if let Some(r) = Rect::from_xywh(r.0, r.1, r.2, r.3) {
                    pb.push_rect(r);
                }
            }
            if let Some(path) = pb.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: paint(*color),
                    ..Fill::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Fill { rect, color } => {
            let mut pb = PathBuilder::new();
            if let Some(r) = Rect::from_xywh(rect.0, rect.1, rect.2, rect.3) {
                pb.push_rect(r);
            }
            if let Some(path) = pb.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: paint(*color),
                    ..Fill::default()
                }));
                surface.draw_path(&path);
            }
        }
    }
}
