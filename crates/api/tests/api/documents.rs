//! The PDFs as an independent reader sees them (poppler's `pdffonts` and `pdftotext`): the
//! stickers and a month's settlement embed their font (a CID TrueType subset, Identity-H,
//! with a ToUnicode map), and their Kazakh and Russian text comes back out as it was written.
//! poppler-utils is installed by `.ci/run`; on a machine without it the test installs it
//! (apt-get, as root) or fails saying so — it never passes without having looked.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Db, Method, TempDir, TestApp, spawn, unique};
use crate::on_both_stores;

const OWN: &str = "astana-avtobus-park-1";

/// `pdffonts` and `pdftotext` are there, installed now if need be.
fn poppler() {
    let present = || Command::new("pdffonts").arg("-v").output().is_ok();
    if present() {
        return;
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "poppler-utils"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
        || (Command::new("apt-get")
            .args(["update", "-qq"])
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("apt-get")
                .args(["install", "-y", "-qq", "poppler-utils"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success()));
    assert!(
        installed && present(),
        "this test reads the PDFs with poppler-utils (pdffonts, pdftotext): install it (`apt-get install poppler-utils`; .ci/run does)"
    );
}

fn run(tool: &str, file: &Path) -> String {
    let output = Command::new(tool)
        .arg(file)
        .args(if tool == "pdftotext" {
            &["-layout", "-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap();
    assert!(output.status.success(), "{tool}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

async fn save(t: &TestApp, token: &str, path: &str, dir: &Path, name: &str) -> PathBuf {
    let pdf = t
        .call(Method::GET, path)
        .token(token)
        .send()
        .await
        .expect(200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    let file = dir.join(name);
    std::fs::write(&file, &pdf.bytes).unwrap();
    file
}

/// The font line of `pdffonts`: embedded, a subset, with a ToUnicode map.
fn assert_embedded(fonts: &str) {
    let lines: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(lines.len(), 1, "{fonts}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert!(fields[0].ends_with("+NotoSans-Regular"), "{fonts}");
    assert_eq!(
        fields[1..7],
        ["CID", "TrueType", "Identity-H", "yes", "yes", "yes"],
        "{fonts}"
    );
}

async fn the_pdfs_embed_their_font_and_give_their_text_back(db: Db) {
    poppler();
    let t = spawn(db).await;
    let (status, ticket) = t.ride("+77011234567", "10101", "doc-1", "kk").await;
    assert_eq!(status, 201, "{ticket}");
    t.add_staff("park-1", domain::staff::Role::Carrier, &[], &[OWN])
        .await;
    let manager = t.staff_session("park-1").await;
    let dir = TempDir(std::env::temp_dir().join(unique("smsbus_pdf")));
    std::fs::create_dir_all(&dir.0).unwrap();
    let stickers = save(
        &t,
        &manager,
        &format!("/v1/carriers/{OWN}/stickers?format=pdf"),
        &dir.0,
        "stickers.pdf",
    )
    .await;
    assert_embedded(&run("pdffonts", &stickers));
    let text = run("pdftotext", &stickers);
    for line in [
        "Жол ақысын SMS-пен төлеу:",
        "10101 кодын 2505 нөміріне жіберіңіз",
        "Оплата проезда по SMS:",
        "отправьте 10101 на номер 2505",
        "Бағыт / Маршрут 10",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let day = jiff::Timestamp::from_millisecond(
        service::clock::Clock::now_ms(t.clock.as_ref()) + 5 * 3_600_000,
    )
    .unwrap()
    .to_zoned(jiff::tz::TimeZone::UTC)
    .date()
    .to_string();
    for (lang, words) in [
        (
            "kk",
            ["Тасымалдаушымен есеп айырысу", "Барлығы", "Қайтарылды"],
        ),
        ("ru", ["Расчёт с перевозчиком", "Итого", "Возвращено"]),
    ] {
        let settlement = save(
            &t,
            &manager,
            &format!(
                "/v1/carriers/{OWN}/settlement/{}?format=pdf&lang={lang}",
                &day[..7]
            ),
            &dir.0,
            &format!("settlement-{lang}.pdf"),
        )
        .await;
        assert_embedded(&run("pdffonts", &settlement));
        let text = run("pdftotext", &settlement);
        for word in words {
            assert!(text.contains(word), "{word} in {text}");
        }
        // The day's row: its date and its figures, in the columns' order.
        let row = text.lines().find(|l| l.starts_with(&day)).unwrap();
        let figures: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            figures,
            [&day, "1", "0", "90.00", "0.00", "90.00"],
            "{text}"
        );
    }
}
on_both_stores!(
    the_pdfs_embed_their_font_and_give_their_text_back,
    the_pdfs_embed_their_font_and_give_their_text_back
);
