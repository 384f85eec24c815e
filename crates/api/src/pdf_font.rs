//! The font our PDFs embed, so Kazakh (ә ғ қ ң ө ұ ү һ і) and Russian print the same in every
//! reader: Noto Sans Regular, shipped by the `ttf-noto-sans` crate (the font under the Apache
//! License 2.0, which allows redistribution). `ttf-parser` reads its glyph ids, advances and
//! metrics; [`Font::subset`] writes the TrueType program a document embeds as `/FontFile2`:
//! every glyph id kept where it is (so the CID of a glyph is its id, `/CIDToGIDMap /Identity`)
//! with the outlines of the glyphs the document uses (and the parts of composite ones) and
//! none of the others', and only the tables a PDF reader needs to draw them (`glyf`, `loca`,
//! `head`, `hhea`, `hmtx`, `maxp`, and the hinting tables `cvt `, `fpgm`, `prep`).
//! [`to_unicode`] writes the `/ToUnicode` CMap that maps each glyph back to its character, so
//! text can be copied and searched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use ttf_parser::{Face, GlyphId, Tag};

/// The font program (TrueType) from its crate.
const FONT_BYTES: &[u8] = ttf_noto_sans::REGULAR;
/// Its PostScript name, as the PDF names it (after the subset's tag).
pub const FONT_NAME: &str = "NotoSans-Regular";
/// The tables a subset keeps, when the font has them (sorted, as a font's directory is).
const KEPT_TABLES: [&[u8; 4]; 9] = [
    b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep",
];
/// A composite glyph nests at most this deep (the closure of its parts stops there).
const COMPOSITE_DEPTH_MAX: usize = 8;

/// The font cannot be read or written: a defect of the build, never of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FontError(pub String);

impl std::fmt::Display for FontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the embedded font: {}", self.0)
    }
}

/// The parsed font, read once.
pub struct Font {
    face: Face<'static>,
}

static FONT: LazyLock<Result<Font, FontError>> = LazyLock::new(|| {
    Face::parse(FONT_BYTES, 0)
        .map(|face| Font { face })
        .map_err(|e| FontError(e.to_string()))
});

/// Metrics of the font in thousandths of an em, as a font descriptor states them.
#[derive(Clone, Copy, Debug)]
pub struct Metrics {
    pub bbox: [i32; 4],
    pub ascent: i32,
    pub descent: i32,
    pub cap_height: i32,
}

impl Font {
    pub fn get() -> Result<&'static Font, FontError> {
        FONT.as_ref().map_err(Clone::clone)
    }

    /// The glyph of a character; `None` when the font has none (it prints as `.notdef`).
    pub fn glyph(&self, c: char) -> Option<u16> {
        self.face.glyph_index(c).map(|g| g.0)
    }

    fn per_mille(&self, units: i32) -> i32 {
        let per_em = i32::from(self.face.units_per_em().max(1));
        (units * 1000 + per_em / 2).div_euclid(per_em)
    }

    /// A glyph's advance in thousandths of an em (`/W`'s unit).
    pub fn advance(&self, glyph: u16) -> u32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        u32::try_from(self.per_mille(i32::from(units))).unwrap_or(0)
    }

    /// The width `text` takes at `size` points.
    pub fn text_width(&self, text: &str, size: f32) -> f32 {
        let per_mille: u32 = text
            .chars()
            .map(|c| self.advance(self.glyph(c).unwrap_or(0)))
            .sum();
        per_mille as f32 * size / 1000.0
    }

    pub fn metrics(&self) -> Metrics {
        let b = self.face.global_bounding_box();
        let ascent = self.per_mille(i32::from(self.face.ascender()));
        Metrics {
            bbox: [
                self.per_mille(i32::from(b.x_min)),
                self.per_mille(i32::from(b.y_min)),
                self.per_mille(i32::from(b.x_max)),
                self.per_mille(i32::from(b.y_max)),
            ],
            ascent,
            descent: self.per_mille(i32::from(self.face.descender())),
            cap_height: self
                .face
                .capital_height()
                .map_or(ascent, |h| self.per_mille(i32::from(h))),
        }
    }

    fn table(&self, tag: &[u8; 4]) -> Option<&'static [u8]> {
        self.face.raw_face().table(Tag::from_bytes(tag))
    }

    /// Each glyph's bytes in `glyf`, by `loca` (short or long offsets).
    fn glyph_ranges(&self) -> Result<Vec<std::ops::Range<usize>>, FontError> {
        let missing = |what: &str| FontError(format!("no {what} table"));
        let head = self.table(b"head").ok_or_else(|| missing("head"))?;
        let loca = self.table(b"loca").ok_or_else(|| missing("loca"))?;
        let long = read_u16(head, 50)? == 1;
        let count = usize::from(self.face.number_of_glyphs());
        let offset = |i: usize| -> Result<usize, FontError> {
            if long {
                usize::try_from(read_u32(loca, i * 4)?).map_err(|e| FontError(e.to_string()))
            } else {
                Ok(usize::from(read_u16(loca, i * 2)?) * 2)
            }
        };
        (0..count).map(|i| Ok(offset(i)?..offset(i + 1)?)).collect()
    }

    /// `used` and every glyph a composite among them is made of, with `.notdef` (glyph 0).
    fn closure(
        &self,
        used: &BTreeSet<u16>,
        glyf: &[u8],
        ranges: &[std::ops::Range<usize>],
    ) -> Result<BTreeSet<u16>, FontError> {
        let mut kept: BTreeSet<u16> = used.iter().copied().chain([0]).collect();
        let mut frontier: Vec<u16> = kept.iter().copied().collect();
        for _ in 0..COMPOSITE_DEPTH_MAX {
            let mut next = Vec::new();
            for glyph in frontier {
                let bytes = glyph_bytes(glyf, ranges, glyph)?;
                for part in components(bytes)? {
                    if kept.insert(part) {
                        next.push(part);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(kept)
    }

    /// The font program with the outlines of `used` (and of their parts) only, glyph ids
    /// unchanged: a TrueType file of [`KEPT_TABLES`].
    pub fn subset(&self, used: &BTreeSet<u16>) -> Result<Vec<u8>, FontError> {
        let glyf = self
            .table(b"glyf")
            .ok_or_else(|| FontError("no glyf table".into()))?;
        let ranges = self.glyph_ranges()?;
        let kept = self.closure(used, glyf, &ranges)?;
        let mut new_glyf = Vec::new();
        let mut new_loca = Vec::with_capacity((ranges.len() + 1) * 4);
        for (glyph, range) in ranges.iter().enumerate() {
            push_u32(&mut new_loca, new_glyf.len())?;
            let keep = u16::try_from(glyph).is_ok_and(|g| kept.contains(&g));
            if keep {
                new_glyf.extend_from_slice(glyf.get(range.clone()).unwrap_or_default());
                while new_glyf.len() % 4 != 0 {
                    new_glyf.push(0);
                }
            }
        }
        push_u32(&mut new_loca, new_glyf.len())?;
        let mut tables: Vec<([u8; 4], Vec<u8>)> = Vec::new();
        for tag in KEPT_TABLES {
            let data = match tag {
                b"glyf" => new_glyf.clone(),
                b"loca" => new_loca.clone(),
                b"head" => {
                    let mut head = self.table(tag).unwrap_or_default().to_vec();
                    // checkSumAdjustment is set once the file is whole; offsets are long now.
                    write_at(&mut head, 8, &[0, 0, 0, 0])?;
                    write_at(&mut head, 50, &[0, 1])?;
                    head
                }
                b"hmtx" => self.hmtx_of(&kept)?,
                _ => match self.table(tag) {
                    Some(data) => data.to_vec(),
                    None => continue,
                },
            };
            tables.push((*tag, data));
        }
        font_file(tables)
    }

    /// `hmtx` with the metrics of the glyphs not kept set to zero (they compress away).
    fn hmtx_of(&self, kept: &BTreeSet<u16>) -> Result<Vec<u8>, FontError> {
        let hhea = self
            .table(b"hhea")
            .ok_or_else(|| FontError("no hhea table".into()))?;
        let mut hmtx = self
            .table(b"hmtx")
            .ok_or_else(|| FontError("no hmtx table".into()))?
            .to_vec();
        let long = usize::from(read_u16(hhea, 34)?);
        for glyph in 0..usize::from(self.face.number_of_glyphs()) {
            if u16::try_from(glyph).is_ok_and(|g| kept.contains(&g)) {
                continue;
            }
            let (at, width) = if glyph < long {
                (glyph * 4, 4)
            } else {
                (long * 4 + (glyph - long) * 2, 2)
            };
            if let Some(bytes) = hmtx.get_mut(at..at + width) {
                bytes.fill(0);
            }
        }
        Ok(hmtx)
    }
}

fn glyph_bytes<'a>(
    glyf: &'a [u8],
    ranges: &[std::ops::Range<usize>],
    glyph: u16,
) -> Result<&'a [u8], FontError> {
    let range = ranges
        .get(usize::from(glyph))
        .ok_or_else(|| FontError(format!("glyph {glyph} beyond loca")))?;
    glyf.get(range.clone())
        .ok_or_else(|| FontError(format!("glyph {glyph} beyond glyf")))
}

/// The glyphs a composite glyph is made of (none for a simple or empty one).
fn components(glyph: &[u8]) -> Result<Vec<u16>, FontError> {
    const ARGS_ARE_WORDS: u16 = 0x0001;
    const HAVE_SCALE: u16 = 0x0008;
    const MORE_COMPONENTS: u16 = 0x0020;
    const HAVE_X_AND_Y_SCALE: u16 = 0x0040;
    const HAVE_TWO_BY_TWO: u16 = 0x0080;
    if glyph.len() < 10 || i16::from_be_bytes(read_u16(glyph, 0)?.to_be_bytes()) >= 0 {
        return Ok(Vec::new());
    }
    let mut parts = Vec::new();
    let mut at = 10;
    loop {
        let flags = read_u16(glyph, at)?;
        parts.push(read_u16(glyph, at + 2)?);
        at += 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
        at += if flags & HAVE_SCALE != 0 {
            2
        } else if flags & HAVE_X_AND_Y_SCALE != 0 {
            4
        } else if flags & HAVE_TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        if flags & MORE_COMPONENTS == 0 {
            return Ok(parts);
        }
    }
}

/// A TrueType file of `tables` (sorted by tag): the offset table, the directory with each
/// table's checksum, the tables 4-byte aligned, and `head`'s checkSumAdjustment.
fn font_file(tables: Vec<([u8; 4], Vec<u8>)>) -> Result<Vec<u8>, FontError> {
    let count = u16::try_from(tables.len()).map_err(|e| FontError(e.to_string()))?;
    let mut power = 1u16;
    let mut selector = 0u16;
    while power * 2 <= count {
        power *= 2;
        selector += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for value in [count, power * 16, selector, count * 16 - power * 16] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        push_u32(&mut out, offset)?;
        push_u32(&mut out, data.len())?;
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    if let Some(at) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        write_at(&mut out, at + 8, &adjustment.to_be_bytes())?;
    }
    Ok(out)
}

/// The TrueType checksum: the sum of big-endian 32-bit words, the last padded with zeros.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        for (to, from) in word.iter_mut().zip(chunk) {
            *to = *from;
        }
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

fn read_u16(data: &[u8], at: usize) -> Result<u16, FontError> {
    match data.get(at..at + 2) {
        Some([a, b]) => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(FontError(format!("a read at {at} beyond the table"))),
    }
}

fn read_u32(data: &[u8], at: usize) -> Result<u32, FontError> {
    match data.get(at..at + 4) {
        Some([a, b, c, d]) => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(FontError(format!("a read at {at} beyond the table"))),
    }
}

fn push_u32(out: &mut Vec<u8>, value: usize) -> Result<(), FontError> {
    let value = u32::try_from(value).map_err(|e| FontError(e.to_string()))?;
    out.extend_from_slice(&value.to_be_bytes());
    Ok(())
}

fn write_at(data: &mut [u8], at: usize, bytes: &[u8]) -> Result<(), FontError> {
    data.get_mut(at..at + bytes.len())
        .ok_or_else(|| FontError(format!("a write at {at} beyond the table")))?
        .copy_from_slice(bytes);
    Ok(())
}

/// A character as a ToUnicode destination: its UTF-16 code units, four hex digits each.
pub fn utf16_hex(c: char) -> String {
    let mut units = [0u16; 2];
    c.encode_utf16(&mut units)
        .iter()
        .map(|u| format!("{u:04X}"))
        .collect()
}

/// The `/ToUnicode` CMap: each glyph (a 2-byte code under Identity-H) to its character.
pub fn to_unicode(glyphs: &BTreeMap<u16, char>) -> String {
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = glyphs.iter().collect();
    // A bfchar block holds at most 100 entries.
    for block in entries.chunks(100) {
        let _ = writeln!(out, "{} beginbfchar", block.len());
        for (glyph, c) in block {
            let _ = writeln!(out, "<{glyph:04X}> <{}>", utf16_hex(**c));
        }
        out.push_str("endbfchar\n");
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out
}

/// The `/W` array's body: each run of consecutive glyphs with their widths.
pub fn widths(font: &Font, glyphs: &BTreeSet<u16>) -> String {
    let mut out = String::new();
    let mut run: Option<(u16, u16)> = None;
    for glyph in glyphs {
        match run {
            Some((_, last)) if last.checked_add(1) == Some(*glyph) => {
                let _ = write!(out, " {}", font.advance(*glyph));
                run = run.map(|(first, _)| (first, *glyph));
            }
            _ => {
                if run.is_some() {
                    out.push(']');
                }
                let _ = write!(out, " {glyph} [{}", font.advance(*glyph));
                run = Some((*glyph, *glyph));
            }
        }
    }
    if run.is_some() {
        out.push(']');
    }
    out
}

/// Six capitals naming the subset (PDF 32000 §9.6.4), from the glyphs it holds.
pub fn subset_tag(glyphs: &BTreeSet<u16>) -> String {
    // FNV-1a: stable across builds, enough to tell two subsets apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for glyph in glyphs {
        for byte in glyph.to_be_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + u8::try_from((hash >> (i * 5)) % 26).unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_and_russian_letters_have_glyphs() {
        let font = Font::get().unwrap();
        for c in "әғқңөұүһі ӘҒҚҢӨҰҮҺІ абвгдеёжзийклмнопрстуфхцчшщъыьэюя №·—".chars()
        {
            assert!(font.glyph(c).is_some_and(|g| g != 0), "{c}");
        }
        assert!(font.advance(font.glyph('ә').unwrap()) > 0);
    }

    #[test]
    fn a_subset_is_a_font_with_the_used_outlines_only() {
        let font = Font::get().unwrap();
        let used: BTreeSet<u16> = "Жолақысы й".chars().filter_map(|c| font.glyph(c)).collect();
        let subset = font.subset(&used).unwrap();
        assert!(subset.len() < FONT_BYTES.len() / 4, "{}", subset.len());
        let face = Face::parse(&subset, 0).unwrap();
        assert_eq!(face.number_of_glyphs(), font.face.number_of_glyphs());
        // The used glyphs keep their outlines at their ids; another glyph has none.
        struct Count(usize);
        impl ttf_parser::OutlineBuilder for Count {
            fn move_to(&mut self, _: f32, _: f32) {
                self.0 += 1;
            }
            fn line_to(&mut self, _: f32, _: f32) {}
            fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {}
            fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {}
            fn close(&mut self) {}
        }
        for glyph in used.iter().filter(|g| **g != font.glyph(' ').unwrap()) {
            let mut count = Count(0);
            assert!(face.outline_glyph(GlyphId(*glyph), &mut count).is_some());
            assert!(count.0 > 0, "glyph {glyph}");
        }
        let other = font.glyph('Z').unwrap();
        assert!(face.outline_glyph(GlyphId(other), &mut Count(0)).is_none());
        // The file's checksums hold: the whole sums to the magic number.
        assert_eq!(checksum(&subset), 0xB1B0_AFBA);
    }

    #[test]
    fn to_unicode_maps_each_glyph_to_its_character() {
        let map = BTreeMap::from([(0x0102, 'ә'), (0x0003, ' ')]);
        let cmap = to_unicode(&map);
        assert!(cmap.contains("2 beginbfchar\n<0003> <0020>\n<0102> <04D9>\n"));
        let mut glyphs = BTreeSet::from([3, 4, 5, 9]);
        let font = Font::get().unwrap();
        let w = widths(font, &glyphs);
        assert_eq!(w.matches('[').count(), 2, "{w}");
        glyphs.insert(6);
        assert_ne!(subset_tag(&glyphs), subset_tag(&BTreeSet::from([3])));
        assert!(subset_tag(&glyphs).chars().all(|c| c.is_ascii_uppercase()));
    }
}
