//! The few PDF objects our documents need (stickers, a carrier's monthly settlement), written
//! by hand: A4 pages of text lines and filled rectangles (a QR code is its dark modules). Text
//! is set in one simple font whose encoding maps the codes 128–255 to the Cyrillic and Kazakh
//! letters a document uses, by their `uniXXXX` glyph names; the font is not embedded (the
//! reader's sans-serif draws it). At most 128 distinct non-ASCII letters fit one document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A4 in points.
pub const PAGE_WIDTH_PT: f32 = 595.0;
pub const PAGE_HEIGHT_PT: f32 = 842.0;
/// A document has at most this many pages.
pub const PAGES_MAX: usize = 500;
/// The advance of every glyph, in thousandths of the font size (the widths the reader spaces
/// letters by).
const GLYPH_WIDTH: u32 = 560;

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

/// The width a text of `chars` characters takes at `size`.
pub fn text_width(chars: usize, size: f32) -> f32 {
    chars as f32 * size * GLYPH_WIDTH as f32 / 1000.0
}

impl Document {
    /// The PDF file. Characters beyond the encoding's room are written as `?`.
    pub fn render(&self) -> Vec<u8> {
        let encoding = self.encoding();
        let mut objects: Vec<String> = Vec::new();
        // 1 catalog, 2 pages, 3 font, 4 font descriptor, then each page and its content.
        let pages = self.pages.iter().take(PAGES_MAX).collect::<Vec<_>>();
        let kids: Vec<String> = (0..pages.len())
            .map(|i| format!("{} 0 R", 5 + 2 * i))
            .collect();
        objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
        objects.push(format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ));
        let mut differences = String::new();
        for (c, code) in &encoding {
            let _ = write!(differences, " {code} /uni{:04X}", u32::from(*c));
        }
        let widths = vec![GLYPH_WIDTH.to_string(); 224].join(" ");
        objects.push(format!(
            "<< /Type /Font /Subtype /TrueType /BaseFont /ArialMT /FirstChar 32 /LastChar 255 \
             /Widths [{widths}] /FontDescriptor 4 0 R \
             /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [{differences}] >> >>"
        ));
        objects.push(
            "<< /Type /FontDescriptor /FontName /ArialMT /Flags 32 /FontBBox [-665 -325 2000 1040] \
             /ItalicAngle 0 /Ascent 905 /Descent -212 /CapHeight 716 /StemV 80 >>"
                .into(),
        );
        for (i, marks) in pages.iter().enumerate() {
            objects.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH_PT} {PAGE_HEIGHT_PT}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                6 + 2 * i
            ));
            let content = content_of(marks, &encoding);
            objects.push(format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len() + 1
            ));
        }
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
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

    /// The codes 128.. given to the document's non-ASCII characters, in order of first use.
    fn encoding(&self) -> BTreeMap<char, u8> {
        let mut map = BTreeMap::new();
        let mut next: u16 = 128;
        for marks in &self.pages {
            for mark in marks {
                if let Mark::Text { text, .. } = mark {
                    for c in text.chars().filter(|c| !c.is_ascii()) {
                        if next <= 255 && !map.contains_key(&c) {
                            map.insert(c, u8::try_from(next).unwrap_or(b'?'));
                            next += 1;
                        }
                    }
                }
            }
        }
        map
    }
}

fn content_of(marks: &[Mark], encoding: &BTreeMap<char, u8>) -> String {
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
                    "BT /F1 {size:.1} Tf {x:.2} {y:.2} Td ({}) Tj ET",
                    encoded(text, encoding)
                );
            }
        }
    }
    out
}

/// The text as a PDF string literal's body: ASCII as is (escaped), the rest as octal codes.
fn encoded(text: &str, encoding: &BTreeMap<char, u8>) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => match encoding.get(&c) {
                Some(code) => {
                    let _ = write!(out, "\\{code:03o}");
                }
                None => out.push('?'),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let doc = Document {
            pages: vec![
                vec![
                    Mark::Text {
                        x: 10.0,
                        y: 10.0,
                        size: 12.0,
                        text: "Жол (ақысы) 2505 — ru: Отправьте".into(),
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
        };
        let bytes = doc.render();
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
            text[start..].starts_with("xref\n0 9\n"),
            "{}",
            &text[start..]
        );
        for (i, line) in text[start..].lines().skip(3).take(8).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
        // Parentheses are escaped, Cyrillic letters become codes of the font's encoding.
        assert!(
            text.contains("\\(\\203\\204\\205\\206\\205\\) 2505"),
            "{text}"
        );
        assert!(text.contains("/uni0416"));
        assert!(text.contains("/Count 2"));
    }
}
