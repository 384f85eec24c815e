//! The SMPP layer on its own: every PDU we speak survives the codec, every reply text in
//! kk/ru/en survives the coding and concatenation through real PDUs (GSM 7-bit or UCS-2,
//! the longest included), and the fuzz corpus of the PDU decoder replays.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bytes::BytesMut;
use domain::catalogue::Zone;
use domain::sms::{
    HELP, LANGUAGE_SET, NO_SUCH_ZONE, PENDING, RepeatReply, SMS_TERMS, TicketReply,
    repeat_pending_text, repeat_text, ticket_text, zone_required_text,
};
use domain::{ErrorCode, Language, Tenge};
use partners::smpp::pdu::{self, Bind, Body, Frame, Pdu, ShortMessage, SmppCodec, Tlv, tag};
use partners::smpp::text::{self, Coding};
use tokio_util::codec::Decoder;

fn through_codec(pdu: &Pdu) -> Pdu {
    let bytes = pdu::encode(pdu).unwrap();
    let mut buffer = BytesMut::from(&bytes[..]);
    match SmppCodec.decode(&mut buffer).unwrap() {
        Some(Frame::Pdu(decoded)) => decoded,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_pdu_we_speak_survives_the_codec() {
    let sm = ShortMessage {
        source_ton: 1,
        source_npi: 1,
        source: "77011234567".into(),
        destination: "2505".into(),
        esm_class: pdu::ESM_UDHI,
        data_coding: text::DATA_CODING_UCS2,
        short_message: vec![5, 0, 3, 9, 2, 1, 0x04, 0x11].into(),
        tlvs: vec![Tlv::text(tag::SIMULATOR_MESSAGE_ID, "mo-1")],
        ..ShortMessage::default()
    };
    let bodies = [
        Body::BindTransceiver(Bind {
            system_id: "kcell".into(),
            password: "secret".into(),
            system_type: "SMSBUS".into(),
            interface_version: 0x34,
            ..Bind::default()
        }),
        Body::BindTransceiverResp {
            system_id: "SMSC".into(),
        },
        Body::Unbind,
        Body::UnbindResp,
        Body::EnquireLink,
        Body::EnquireLinkResp,
        Body::GenericNack,
        Body::SubmitSm(sm.clone()),
        Body::SubmitSmResp {
            message_id: "smsc-1".into(),
        },
        Body::DeliverSm(sm),
        Body::DeliverSmResp,
    ];
    for (body, sequence) in bodies.into_iter().zip(1..) {
        let pdu = Pdu {
            sequence,
            status: 0,
            body,
        };
        assert_eq!(through_codec(&pdu), pdu);
    }
}

#[test]
fn broken_frames_are_named_not_panicked_on() {
    // Impossible length: the connection cannot go on.
    let mut buffer = BytesMut::from(&[0u8, 0, 0, 4, 0, 0, 0, 0][..]);
    assert!(SmppCodec.decode(&mut buffer).is_err());
    // A sane length whose body ends early: handed up for a generic_nack.
    let mut bytes = pdu::encode(&Pdu {
        sequence: 7,
        status: 0,
        body: Body::SubmitSm(ShortMessage::default()),
    })
    .unwrap()
    .to_vec();
    bytes.truncate(bytes.len() - 3);
    let length = u32::try_from(bytes.len()).unwrap().to_be_bytes();
    bytes[..4].copy_from_slice(&length);
    let mut buffer = BytesMut::from(&bytes[..]);
    match SmppCodec.decode(&mut buffer).unwrap() {
        Some(Frame::Malformed { sequence, .. }) => assert_eq!(sequence, 7),
        other => panic!("{other:?}"),
    }
}

/// Every text a passenger can get back, in every language.
fn every_reply_text() -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let zones: Vec<(Zone, Tenge)> = (1..=4)
        .map(|z| {
            (
                Zone::new(z).unwrap(),
                Tenge::from_tiyn(i64::from(z) * 10_000),
            )
        })
        .collect();
    let link = "https://smsbus.kz/t/at3yz35lyykn";
    for language in Language::ALL {
        let code = language.code();
        for (name, t) in [
            ("help", HELP),
            ("language", LANGUAGE_SET),
            ("terms", SMS_TERMS),
            ("pending", PENDING),
            ("no such zone", NO_SUCH_ZONE),
        ] {
            texts.push((format!("{code} {name}"), t.get(language).to_owned()));
        }
        for error in ErrorCode::ALL {
            texts.push((
                format!("{code} {error:?}"),
                error.message(language).to_owned(),
            ));
        }
        // The longest: a zone, an ordinal and the card that paid.
        for (zone, ordinal, card) in [
            (None, 1, None),
            (Some(Zone::new(4).unwrap()), 3, Some("6587")),
        ] {
            let ticket = TicketReply {
                check_number: "7062-8237-9849",
                city_name: "Қызылорда",
                route_number: "301",
                zone,
                plate: "101 ABC 01",
                fare: Tenge::from_tiyn(40_000),
                bought_at_local: "17:29 01.12",
                link,
                ordinal_on_vehicle: ordinal,
                card_last_four: card,
                fare_basis: domain::fare_policy::FareBasis::Full,
            };
            texts.push((format!("{code} ticket"), ticket_text(language, &ticket)));
        }
        texts.push((
            format!("{code} zones"),
            zone_required_text(language, "301", &zones, "13011"),
        ));
        let repeat = RepeatReply {
            check_number: "7062-8237-9849",
            bought_at_local: "17:29 01.12",
            link,
            tickets_held: 2,
            command_for_another: "13011 3+",
        };
        texts.push((format!("{code} repeat"), repeat_text(language, &repeat)));
        texts.push((
            format!("{code} repeat pending"),
            repeat_pending_text(language, "10101+"),
        ));
    }
    texts
}

/// Cuts a text into parts, sends each as a real submit_sm through the codec, and joins what
/// the receiving side decodes.
fn over_the_wire(text: &str) -> (String, usize, u8) {
    let parts = text::split(text, 42).unwrap();
    let mut received = Vec::new();
    for (part, sequence) in parts.iter().zip(1..) {
        let pdu = Pdu {
            sequence,
            status: 0,
            body: Body::SubmitSm(ShortMessage {
                esm_class: part.esm_class,
                data_coding: part.data_coding,
                short_message: part.short_message.clone().into(),
                ..ShortMessage::default()
            }),
        };
        let Body::SubmitSm(sm) = through_codec(&pdu).body else {
            panic!("not a submit_sm");
        };
        let decoded = text::decode(&sm);
        let number = decoded.concatenation.map_or(1, |c| c.number);
        assert_eq!(
            decoded.concatenation.map_or(1, |c| usize::from(c.total)),
            parts.len()
        );
        received.push((number, decoded.text));
    }
    (text::join(&received), parts.len(), parts[0].data_coding)
}

#[test]
fn every_reply_text_round_trips_in_its_coding() {
    let texts = every_reply_text();
    assert!(texts.len() > 100, "the catalogue of replies is there");
    let mut longest = (0, String::new());
    for (name, text) in &texts {
        let (back, parts, data_coding) = over_the_wire(text);
        assert_eq!(&back, text, "{name}");
        let expected = Coding::for_text(text).data_coding();
        assert_eq!(data_coding, expected, "{name}");
        if text
            .chars()
            .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
        {
            assert_eq!(
                data_coding,
                text::DATA_CODING_UCS2,
                "Cyrillic is UCS-2: {name}"
            );
        }
        if parts > longest.0 {
            longest = (parts, name.clone());
        }
    }
    // The longest reply still fits well within the parts a reply may take.
    assert!(
        longest.0 >= 3 && longest.0 <= text::PARTS_MAX,
        "{longest:?}"
    );
    // English help and language texts are plain GSM.
    let (_, _, coding) = over_the_wire(LANGUAGE_SET.get(Language::En));
    assert_eq!(coding, text::DATA_CODING_DEFAULT);
}

#[test]
fn the_pdu_fuzz_corpus_replays() {
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/smpp_pdu");
    let entries = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", folder.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| pdu::fuzz_check(&bytes));
        assert!(outcome.is_ok(), "{} fails its check", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "corpus {} is empty", folder.display());
}
