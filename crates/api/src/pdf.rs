//! The few PDF objects our documents need (stickers, a carrier's monthly settlement), written
//! by hand: A4 pages of text lines and filled rectangles (a QR code is its dark modules),
//! their content streams flate-compressed. Text is set in one embedded font
//! ([`crate::pdf_font`]): a Type0 font, Identity-H, over a CIDFontType2 whose CIDs are the
//! glyph ids, with `/W` widths from the font, the subset of the font program the document
//! uses as `/FontFile2` (flate-compressed) and a `/ToUnicode` CMap, so every reader draws the
//! same letters — Kazakh and Russian included — and text copies and searches as written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

use crate::pdf_font::{FONT_NAME, Font, FontError};

/// A4 in points.
pub const PAGE_WIDTH_PT: f32 = 595.0;
pub const PAGE_HEIGHT_PT: f32 = 842.0;
/// A document has at most this many pages.
pub const PAGES_MAX: usize = 500;
/// The objects before the pages: catalog, pages, the Type0 font, its CIDFont, the font
/// descriptor, the ToUnicode CMap and the font program.
const FIXED_OBJECTS: usize = 7;

/// What a page shows, in points from the bottom left corner.
#[derive(Clone, Debug)]
pub enum Mark {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    /// A filled black rectangle.
    Rect { x: f32, y: f32, w: f32, h: f32 },
    /// A thin outline (a sticker's cut line).
    Frame { x: f32, y: f32, w: f32, h: f32 },
}

#[derive(Clone, Debug, Default)]
pub struct Document {
    pub pages: Vec<Vec<Mark>>,
}

/// The width `text` takes at `size` points in the embedded font (0 if it cannot be read:
/// rendering then refuses anyway).
pub fn text_width(text: &str, size: f32) -> f32 {
    Font::get().map_or(0.0, |font| font.text_width(text, size))
}

/// The glyphs a document's text uses, each with the character it stands for (the first one,
/// where several share a glyph).
struct Glyphs {
    of_char: BTreeMap<char, u16>,
    to_char: BTreeMap<u16, char>,
}

impl Glyphs {
    fn of(font: &Font, pages: &[&Vec<Mark>]) -> Glyphs {
        let mut of_char = BTreeMap::new();
        let mut to_char = BTreeMap::new();
        for mark in pages.iter().flat_map(|marks| marks.iter()) {
            if let Mark::Text { text, .. } = mark {
                for c in text.chars() {
                    let glyph = font.glyph(c).unwrap_or(0);
                    of_char.insert(c, glyph);
                    if glyph != 0 {
                        to_char.entry(glyph).or_insert(c);
                    }
                }
            }
        }
        Glyphs { of_char, to_char }
    }

    fn used(&self) -> BTreeSet<u16> {
        self.to_char.keys().copied().collect()
    }
}

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, FontError> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| FontError(format!("compressing: {e}")))
}

/// A stream object: its dictionary entries, then the bytes compressed.
fn stream(entries: &str, data: &[u8]) -> Result<Vec<u8>, FontError> {
    let packed = deflate(data)?;
    let mut out = format!(
        "<< /Length {} /Filter /FlateDecode{entries} >>\nstream\n",
        packed.len()
    )
    .into_bytes();
    out.extend_from_slice(&packed);
    out.extend_from_slice(b"\nendstream");
    Ok(out)
}

impl Document {
    /// The PDF file, or why the font could not be written (a defect of the build).
    pub fn render(&self) -> Result<Vec<u8>, FontError> {
        let font = Font::get()?;
        let pages = self.pages.iter().take(PAGES_MAX).collect::<Vec<_>>();
        let glyphs = Glyphs::of(font, &pages);
        let used = glyphs.used();
        let name = format!("{}+{FONT_NAME}", crate::pdf_font::subset_tag(&used));
        let program = font.subset(&used)?;
        let metrics = font.metrics();
        let kids: Vec<String> = (0..pages.len())
            .map(|i| format!("{} 0 R", FIXED_OBJECTS + 1 + 2 * i))
            .collect();
        let [x0, y0, x1, y1] = metrics.bbox;
        let mut objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                pages.len()
            )
            .into_bytes(),
            format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
                 /DescendantFonts [4 0 R] /ToUnicode 6 0 R >>"
            )
            .into_bytes(),
            format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
                 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
                 /FontDescriptor 5 0 R /CIDToGIDMap /Identity /DW 0 /W [{}] >>",
                crate::pdf_font::widths(font, &used)
            )
            .into_bytes(),
            format!(
                "<< /Type /FontDescriptor /FontName /{name} /Flags 4 \
                 /FontBBox [{x0} {y0} {x1} {y1}] /ItalicAngle 0 /Ascent {} /Descent {} \
                 /CapHeight {} /StemV 80 /FontFile2 7 0 R >>",
                metrics.ascent, metrics.descent, metrics.cap_height
            )
            .into_bytes(),
            stream("", crate::pdf_font::to_unicode(&glyphs.to_char).as_bytes())?,
            stream(&format!(" /Length1 {}", program.len()), &program)?,
        ];
        for (i, marks) in pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH_PT} {PAGE_HEIGHT_PT}] \
                     /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                    FIXED_OBJECTS + 2 + 2 * i
                )
                .into_bytes(),
            );
            objects.push(stream("", content_of(marks, &glyphs).as_bytes())?);
        }
        Ok(file_of(&objects))
    }
}

/// The objects numbered from 1, the cross-reference table and the trailer.
fn file_of(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

fn content_of(marks: &[Mark], glyphs: &Glyphs) -> String {
    let mut out = String::new();
    for mark in marks {
        match mark {
            Mark::Rect { x, y, w, h } => {
                let _ = writeln!(out, "{x:.2} {y:.2} {w:.2} {h:.2} re f");
            }
            Mark::Frame { x, y, w, h } => {
                let _ = writeln!(out, "0.5 w {x:.2} {y:.2} {w:.2} {h:.2} re S");
            }
            Mark::Text { x, y, size, text } => {
                let _ = writeln!(
                    out,
                    "BT /F1 {size:.1} Tf {x:.2} {y:.2} Td <{}> Tj ET",
                    encoded(text, glyphs)
                );
            }
        }
    }
    out
}

/// The text as Identity-H codes: each character's glyph id, four hex digits.
fn encoded(text: &str, glyphs: &Glyphs) -> String {
    text.chars()
        .map(|c| format!("{:04X}", glyphs.of_char.get(&c).copied().unwrap_or(0)))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The bytes of every `stream … endstream` of a file, inflated.
    pub(crate) fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
        use std::io::Read as _;
        let mut found = Vec::new();
        let mut rest = pdf;
        while let Some(start) = rest.windows(7).position(|w| w == b"stream\n") {
            let body = &rest[start + 7..];
            let end = body.windows(10).position(|w| w == b"\nendstream").unwrap();
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(&body[..end])
                .read_to_end(&mut inflated)
                .unwrap();
            found.push(inflated);
            rest = &body[end + 10..];
        }
        found
    }

    fn sample() -> Document {
        Document {
            pages: vec![
                vec![
                    Mark::Text {
                        x: 10.0,
                        y: 10.0,
                        size: 12.0,
                        text: "Жол (ақысы) 2505 — ru: Отправьте; әғқңөұүһі".into(),
                    },
                    Mark::Rect {
                        x: 1.0,
                        y: 2.0,
                        w: 3.0,
                        h: 4.0,
                    },
                ],
                vec![],
            ],
        }
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let bytes = sample().render().unwrap();
        let text: String = bytes.iter().map(|&b| char::from(b.min(127))).collect();
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.ends_with("%%EOF\n"));
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(
            text[start..].starts_with("xref\n0 12\n"),
            "{}",
            &text[start..]
        );
        for (i, line) in text[start..].lines().skip(3).take(11).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
        assert!(text.contains("/Count 2"));
    }

    #[test]
    fn the_font_is_embedded_and_every_character_maps_back() {
        let doc = sample();
        let bytes = doc.render().unwrap();
        let text: String = bytes.iter().map(|&b| char::from(b.min(127))).collect();
        for needle in [
            "/Subtype /Type0",
            "/Encoding /Identity-H",
            "/Subtype /CIDFontType2",
            "/CIDToGIDMap /Identity",
            "/FontFile2 7 0 R",
            "/ToUnicode 6 0 R",
            "+NotoSans-Regular",
            "/W [ ",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        let streams = streams(&bytes);
        let cmap = String::from_utf8(streams[0].clone()).unwrap();
        let program = &streams[1];
        let face = ttf_parser::Face::parse(program, 0).unwrap();
        // Every character of the text has a glyph of its own (none is .notdef), the
        // glyph's outline is in the embedded program, and the CMap gives the character back.
        let font = Font::get().unwrap();
        let Mark::Text { text: line, .. } = &doc.pages[0][0] else {
            unreachable!()
        };
        let content = String::from_utf8(streams[2].clone()).unwrap();
        let mut codes = String::new();
        for c in line.chars() {
            let glyph = font.glyph(c).unwrap();
            assert_ne!(glyph, 0, "{c}");
            assert!(
                face.glyph_bounding_box(ttf_parser::GlyphId(glyph))
                    .is_some()
                    || c == ' ',
                "{c}"
            );
            let unicode = crate::pdf_font::utf16_hex(c);
            assert!(cmap.contains(&format!("<{glyph:04X}> <{unicode}>")), "{c}");
            codes.push_str(&format!("{glyph:04X}"));
        }
        assert!(content.contains(&format!("<{codes}> Tj")), "{content}");
        // The program is a subset: far smaller than the font.
        assert!(program.len() < ttf_noto_sans::REGULAR.len() / 4);
    }
}
