//! The documents staff download: a carrier's QR stickers (a print-ready SVG page and a PDF),
//! a report as CSV, a carrier's month of settlement as a PDF. Each sticker carries the
//! transport code, the plate, the route, the QR that opens the passenger app on that bus
//! (`<public base URL>/?bus=<code>`) and "send the code to 2505" in Kazakh and Russian.

use std::fmt::Write as _;

use domain::messages::Text;
use domain::{Language, Tenge};
use qrcode::{Color, QrCode};
use service::reports::Report;

use crate::pdf::{Document, Mark, PAGE_HEIGHT_PT, text_width};
use crate::pdf_font::FontError;

/// A carrier prints at most this many stickers at once.
pub const STICKERS_MAX: usize = 300;

/// One vehicle's sticker.
#[derive(Clone, Debug)]
pub struct Sticker {
    pub transport_code: String,
    pub plate: String,
    pub route_number: String,
}

/// "Pay by SMS: send the code to 2505", in Kazakh then Russian, two lines each.
const SEND: [(&str, &str); 2] = [
    (
        "Жол ақысын SMS-пен төлеу:",
        "{code} кодын 2505 нөміріне жіберіңіз",
    ),
    ("Оплата проезда по SMS:", "отправьте {code} на номер 2505"),
];

/// The sticker's lines under the QR: (text, bold).
fn send_lines(code: &str) -> Vec<(String, bool)> {
    SEND.iter()
        .flat_map(|(head, tail)| {
            [
                (head.to_string(), false),
                (tail.replace("{code}", code), true),
            ]
        })
        .collect()
}
const ROUTE: Text = Text {
    kk: "Бағыт / Маршрут",
    ru: "Бағыт / Маршрут",
    en: "Route",
};

/// The link the sticker's QR holds.
pub fn bus_link(base_url: &str, code: &str) -> String {
    format!("{}/?bus={code}", base_url.trim_end_matches('/'))
}

fn modules(link: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::new(link.as_bytes()).ok()?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Some((width, dark))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Millimetres of the SVG page: two stickers across A4, as many rows as needed.
const STICKER_W_MM: f32 = 95.0;
const STICKER_H_MM: f32 = 135.0;
const MARGIN_MM: f32 = 7.0;

/// The stickers as one SVG page, A4 wide, in millimetres (prints at true size).
pub fn stickers_svg(base_url: &str, stickers: &[Sticker]) -> String {
    let rows = stickers.len().div_ceil(2).max(1);
    let height = MARGIN_MM * 2.0 + rows as f32 * STICKER_H_MM;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"{height}mm\" \
         viewBox=\"0 0 210 {height}\" font-family=\"Arial, Helvetica, sans-serif\" role=\"img\">\n"
    );
    for (i, s) in stickers.iter().take(STICKERS_MAX).enumerate() {
        let x = MARGIN_MM + (i % 2) as f32 * (STICKER_W_MM + 6.0);
        let y = MARGIN_MM + (i / 2) as f32 * STICKER_H_MM;
        let code = escape(&s.transport_code);
        let _ = writeln!(
            out,
            "<g transform=\"translate({x} {y})\" data-code=\"{code}\">\
             <rect x=\"0\" y=\"0\" width=\"{STICKER_W_MM}\" height=\"{h}\" rx=\"4\" fill=\"#fff\" stroke=\"#999\" stroke-width=\"0.3\" stroke-dasharray=\"2 1\"/>\
             <rect x=\"0\" y=\"0\" width=\"{STICKER_W_MM}\" height=\"12\" rx=\"4\" fill=\"#0b5cad\"/>\
             <text x=\"5\" y=\"8\" font-size=\"5\" font-weight=\"700\" fill=\"#fff\">SMSBUS · 2505</text>\
             <text x=\"{right}\" y=\"8\" font-size=\"3.6\" fill=\"#fff\" text-anchor=\"end\">{route_label} {route}</text>\
             <text x=\"{mid}\" y=\"29\" font-size=\"15\" font-weight=\"700\" text-anchor=\"middle\">{code}</text>\
             <text x=\"{mid}\" y=\"37\" font-size=\"5\" text-anchor=\"middle\">{plate}</text>",
            h = STICKER_H_MM - 5.0,
            right = STICKER_W_MM - 5.0,
            mid = STICKER_W_MM / 2.0,
            route_label = ROUTE.ru,
            route = escape(&s.route_number),
            plate = escape(&s.plate),
        );
        if let Some((width, dark)) = modules(&bus_link(base_url, &s.transport_code)) {
            let size = 56.0;
            let cell = size / width as f32;
            let left = (STICKER_W_MM - size) / 2.0;
            let mut path = String::new();
            for (n, is_dark) in dark.iter().enumerate() {
                if *is_dark {
                    let cx = left + (n % width) as f32 * cell;
                    let cy = 41.0 + (n / width) as f32 * cell;
                    let _ = write!(path, "M{cx:.3} {cy:.3}h{cell:.3}v{cell:.3}h-{cell:.3}z");
                }
            }
            let _ = writeln!(out, "<path d=\"{path}\" fill=\"#000\"/>");
        }
        for (line, (text, bold)) in send_lines(&s.transport_code).into_iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{mid}\" y=\"{y}\" font-size=\"3.8\"{weight} text-anchor=\"middle\">{}</text>",
                escape(&text),
                mid = STICKER_W_MM / 2.0,
                y = 104.0 + line as f32 * 5.0 + if line >= 2 { 2.0 } else { 0.0 },
                weight = if bold { " font-weight=\"700\"" } else { "" },
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// Six stickers to an A4 page of the PDF.
pub fn stickers_pdf(base_url: &str, stickers: &[Sticker]) -> Result<Vec<u8>, FontError> {
    let (w, h) = (270.0_f32, 260.0_f32);
    let mut doc = Document::default();
    for chunk in stickers.chunks(6).take(STICKERS_MAX / 6 + 1) {
        let mut marks = Vec::new();
        for (i, s) in chunk.iter().enumerate() {
            let x = 22.0 + (i % 2) as f32 * (w + 12.0);
            let y = PAGE_HEIGHT_PT - 20.0 - (i / 2 + 1) as f32 * (h + 10.0) + 10.0;
            marks.push(Mark::Frame { x, y, w, h });
            let centred = |text: &str, size: f32, from_top: f32| Mark::Text {
                x: x + (w - text_width(text, size)) / 2.0,
                y: y + h - from_top,
                size,
                text: text.to_owned(),
            };
            marks.push(centred("SMSBUS 2505", 9.0, 16.0));
            marks.push(centred(&s.transport_code, 30.0, 48.0));
            marks.push(centred(
                &format!("{} · {} {}", s.plate, ROUTE.ru, s.route_number),
                9.0,
                62.0,
            ));
            if let Some((width, dark)) = modules(&bus_link(base_url, &s.transport_code)) {
                let size = 130.0;
                let cell = size / width as f32;
                let left = x + (w - size) / 2.0;
                let top = y + h - 70.0;
                for (n, is_dark) in dark.iter().enumerate() {
                    if *is_dark {
                        marks.push(Mark::Rect {
                            x: left + (n % width) as f32 * cell,
                            y: top - (n / width + 1) as f32 * cell,
                            w: cell,
                            h: cell,
                        });
                    }
                }
            }
            for (line, (text, _)) in send_lines(&s.transport_code).into_iter().enumerate() {
                let from_top = h - 44.0 + line as f32 * 10.0 + if line >= 2 { 3.0 } else { 0.0 };
                marks.push(centred(&text, 8.0, from_top));
            }
        }
        doc.pages.push(marks);
    }
    if doc.pages.is_empty() {
        doc.pages.push(Vec::new());
    }
    doc.render()
}

const SETTLEMENT: Text = Text {
    kk: "Тасымалдаушымен есеп айырысу",
    ru: "Расчёт с перевозчиком",
    en: "Carrier settlement",
};
const PERIOD: Text = Text {
    kk: "Кезең",
    ru: "Период",
    en: "Period",
};
/// The day's column, then the five figures' (each right-aligned at [`FIGURE_RIGHT_PT`]).
const COLUMNS: [Text; 6] = [
    Text {
        kk: "Күн",
        ru: "Дата",
        en: "Day",
    },
    Text {
        kk: "Сапар",
        ru: "Поездки",
        en: "Rides",
    },
    Text {
        kk: "Қайтару",
        ru: "Возвраты",
        en: "Refunds",
    },
    Text {
        kk: "Жол ақысы",
        ru: "Сборы",
        en: "Fares",
    },
    Text {
        kk: "Қайтарылды",
        ru: "Возвращено",
        en: "Refunded",
    },
    Text {
        kk: "Төленеді",
        ru: "К выплате",
        en: "Payable",
    },
];
/// The settlement's left margin and the right edges of its five figures, in points.
const LEFT_PT: f32 = 40.0;
const FIGURE_RIGHT_PT: [f32; 5] = [205.0, 275.0, 375.0, 465.0, 555.0];
const TOTAL: Text = Text {
    kk: "Барлығы",
    ru: "Итого",
    en: "Total",
};
const BY_SOURCE: Text = Text {
    kk: "Көзі бойынша (оператор, карта)",
    ru: "По источникам (оператор, карта)",
    en: "By source (operator, card)",
};
const OWED: Text = Text {
    kk: "Тасымалдаушыға төленетін сома (комиссиясыз)",
    ru: "Сумма к выплате перевозчику (без комиссии)",
    en: "Owed to the carrier (no commission)",
};
const ESTIMATED: Text = Text {
    kk: "бағалау: бұрынғы сапарлар бүгінгі тарифпен",
    ru: "оценка: прежние поездки по сегодняшнему тарифу",
    en: "estimate: earlier rides at today's fare",
};
const SUBSIDY: Text = Text {
    kk: "Қала төлейтін жеңілдік субсидиясы",
    ru: "Субсидия за льготный проезд (платит город)",
    en: "Preferential subsidy owed by the city",
};

fn money(t: Tenge) -> String {
    format!("{} KZT", t.to_decimal())
}

/// A line of the settlement: its size and its cells, each at its left edge or right-aligned
/// at its right edge.
struct Row {
    size: f32,
    cells: Vec<(Edge, String)>,
}

#[derive(Clone, Copy)]
enum Edge {
    Left(f32),
    Right(f32),
}

impl Row {
    fn text(size: f32, text: String) -> Row {
        Row {
            size,
            cells: vec![(Edge::Left(LEFT_PT), text)],
        }
    }

    /// A day's (or the total's) figures under the columns.
    fn figures(label: String, figures: [String; 5]) -> Row {
        let mut cells = vec![(Edge::Left(LEFT_PT), label)];
        for (right, figure) in FIGURE_RIGHT_PT.iter().zip(figures) {
            cells.push((Edge::Right(*right), figure));
        }
        Row { size: 9.0, cells }
    }
}

fn figures_of(d: (i64, i64, i64, i64, i64)) -> [String; 5] {
    [
        d.0.to_string(),
        d.1.to_string(),
        Tenge::from_tiyn(d.2).to_decimal(),
        Tenge::from_tiyn(d.3).to_decimal(),
        Tenge::from_tiyn(d.4).to_decimal(),
    ]
}

/// A carrier's month: a line per day, the totals, by source and the subsidy.
pub fn settlement_pdf(
    report: &Report,
    carrier: &str,
    name: &str,
    language: Language,
) -> Result<Vec<u8>, FontError> {
    use std::collections::BTreeMap;
    let mut days: BTreeMap<jiff::civil::Date, (i64, i64, i64, i64, i64)> = BTreeMap::new();
    for line in &report.lines {
        let day = days.entry(line.day).or_default();
        day.0 += line.rides;
        day.1 += line.refunds;
        day.2 += line.fares.tiyn();
        day.3 += line.refunded.tiyn();
        day.4 += line.payable.tiyn();
    }
    let [day_column, figure_columns @ ..] = COLUMNS.map(|c| c.get(language).to_owned());
    let mut rows: Vec<Row> = vec![
        Row::text(16.0, format!("SMSBUS · {}", SETTLEMENT.get(language))),
        Row::text(11.0, format!("{name} ({carrier})")),
        Row::text(
            11.0,
            format!("{}: {} — {}", PERIOD.get(language), report.from, report.to),
        ),
        Row::text(11.0, String::new()),
        Row::figures(day_column, figure_columns),
    ];
    let mut total = (0, 0, 0, 0, 0);
    for (day, d) in &days {
        total = (
            total.0 + d.0,
            total.1 + d.1,
            total.2 + d.2,
            total.3 + d.3,
            total.4 + d.4,
        );
        rows.push(Row::figures(day.to_string(), figures_of(*d)));
    }
    rows.push(Row::figures(
        TOTAL.get(language).to_owned(),
        figures_of(total),
    ));
    rows.push(Row::text(9.0, String::new()));
    rows.push(Row::text(11.0, BY_SOURCE.get(language).to_owned()));
    for (source, amount) in &report.by_source {
        rows.push(Row {
            size: 9.0,
            cells: vec![
                (Edge::Left(LEFT_PT + 12.0), source.as_str().to_owned()),
                (Edge::Right(FIGURE_RIGHT_PT[1]), money(*amount)),
            ],
        });
    }
    rows.push(Row::text(9.0, String::new()));
    rows.push(Row::text(
        11.0,
        format!(
            "{}: {}",
            OWED.get(language),
            money(Tenge::from_tiyn(total.4))
        ),
    ));
    for ((city, category), amount) in &report.subsidy_by_category {
        let estimated = report
            .subsidy_estimated
            .contains(&(city.clone(), category.clone()));
        rows.push(Row::text(
            9.0,
            format!(
                "{} ({city}, {category}): {}{}",
                SUBSIDY.get(language),
                money(*amount),
                if estimated {
                    format!(" ({})", ESTIMATED.get(language))
                } else {
                    String::new()
                }
            ),
        ));
    }
    let mut doc = Document::default();
    let mut page = Vec::new();
    let mut y = PAGE_HEIGHT_PT - 50.0;
    for row in rows {
        if y < 50.0 {
            doc.pages.push(std::mem::take(&mut page));
            y = PAGE_HEIGHT_PT - 50.0;
        }
        for (edge, text) in row.cells {
            let x = match edge {
                Edge::Left(x) => x,
                Edge::Right(right) => right - text_width(&text, row.size),
            };
            page.push(Mark::Text {
                x,
                y,
                size: row.size,
                text,
            });
        }
        y -= row.size * 1.5;
    }
    doc.pages.push(page);
    doc.render()
}

/// A report's lines as CSV (RFC 4180), amounts in tenge with two decimals.
pub fn report_csv(report: &Report) -> String {
    let mut out = String::from(
        "day,city,carrier,route,transport_code,source,category,rides,refunds,fares,refunded,payable,subsidy,subsidy_estimated\r\n",
    );
    for l in &report.lines {
        let fields = [
            l.day.to_string(),
            l.city.clone(),
            l.carrier.clone(),
            l.route_number.clone(),
            l.transport_code.clone(),
            l.source.as_str().to_owned(),
            l.category.clone(),
            l.rides.to_string(),
            l.refunds.to_string(),
            l.fares.to_decimal(),
            l.refunded.to_decimal(),
            l.payable.to_decimal(),
            l.subsidy.to_decimal(),
            l.subsidy_estimated.to_string(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sticker_carries_the_code_plate_link_and_both_languages() {
        let stickers = [Sticker {
            transport_code: "10101".into(),
            plate: "101 ABC 01".into(),
            route_number: "10".into(),
        }];
        let svg = stickers_svg("https://bus.example/", &stickers);
        assert!(svg.contains(">10101<"));
        assert!(svg.contains("101 ABC 01"));
        assert!(svg.contains("отправьте 10101 на номер 2505"));
        assert!(svg.contains("10101 кодын 2505 нөміріне жіберіңіз"));
        assert!(svg.contains("Оплата проезда по SMS:"));
        assert_eq!(
            bus_link("https://bus.example/", "10101"),
            "https://bus.example/?bus=10101"
        );
        let pdf = stickers_pdf("https://bus.example", &stickers).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        // The code is set in the embedded font: its glyphs are in the page's content.
        let font = crate::pdf_font::Font::get().unwrap();
        let code: String = "10101"
            .chars()
            .map(|c| format!("{:04X}", font.glyph(c).unwrap()))
            .collect();
        let streams = crate::pdf::tests::streams(&pdf);
        assert!(
            streams
                .iter()
                .any(|s| String::from_utf8_lossy(s).contains(&format!("<{code}> Tj")))
        );
    }

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
