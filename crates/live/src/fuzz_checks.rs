//! The properties the fuzz targets in `fuzz/` check on the live codecs, one function per
//! target, taking the raw bytes libFuzzer hands over. The same functions replay every file of
//! `fuzz/corpus/TARGET/` in `cargo test` (`tests/live.rs`), so a crash once found stays fixed.

#[cfg(feature = "io")]
use bytes::BytesMut;
#[cfg(feature = "io")]
use tokio_util::codec::Decoder as _;

use crate::gtfs_rt::{VehicleDirectory, decode_feed, encode_feed, positions_from_feed};
#[cfg(feature = "io")]
use crate::wialon::{Answer, Incoming, WialonCodec};

/// The stream is also fed in pieces of at most this many bytes (the codec looks for the end of
/// the line from the start of its buffer each time, so single bytes would cost N² per line).
#[cfg(feature = "io")]
const SMALL_CHUNK_BYTES_MAX: usize = 16;

/// A Wialon IPS stream (the first two bytes say where to cut it in two, as TCP may, and how
/// small the pieces of a third delivery are) decodes to the same packets however it arrives, and
/// every answer it earns reads back as itself.
#[cfg(feature = "io")]
pub fn wialon(bytes: &[u8]) {
    let (cut, stream) = match bytes {
        [high, low, rest @ ..] => (usize::from(u16::from_be_bytes([*high, *low])), rest),
        _ => (0, bytes),
    };
    let whole = decode_chunks(&[stream]);
    let (head, tail) = stream.split_at(cut.min(stream.len()));
    assert_eq!(decode_chunks(&[head, tail]), whole);
    let small: Vec<&[u8]> = stream.chunks(cut % SMALL_CHUNK_BYTES_MAX + 1).collect();
    assert_eq!(decode_chunks(&small), whole);
}

/// Feeds `chunks` one after another to one codec; the packets as text (a fix may hold NaN,
/// which is not equal to itself).
#[cfg(feature = "io")]
fn decode_chunks(chunks: &[&[u8]]) -> Vec<String> {
    let mut codec = WialonCodec::new();
    let mut buffer = BytesMut::new();
    let mut decoded = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        while let Ok(Some(incoming)) = codec.decode(&mut buffer) {
            let answer = match &incoming {
                Incoming::Rejected(rejection) => rejection.answer,
                Incoming::Packet(_) => None,
            };
            if let Some(answer) = answer {
                assert_eq!(Answer::parse(&answer.to_line()), Some(answer));
            }
            decoded.push(format!("{incoming:?}"));
        }
    }
    decoded
}

/// A GTFS-Realtime message that decodes gives positions without panicking, and re-encodes to
/// bytes that decode and encode to the same bytes again.
pub fn gtfs_rt(bytes: &[u8]) {
    let Ok(feed) = decode_feed(bytes) else {
        return;
    };
    let mut directory = VehicleDirectory::starting_at(1);
    let mut positions = Vec::new();
    let skips = positions_from_feed(
        &feed,
        |key| Some(directory.get_or_insert(key)),
        &mut positions,
    );
    assert_eq!(skips.unknown_vehicle, 0);
    assert!(positions.len() <= feed.entity.len());
    let encoded = encode_feed(&feed);
    let again = decode_feed(&encoded).map(|feed| encode_feed(&feed));
    assert_eq!(again.ok(), Some(encoded));
}
