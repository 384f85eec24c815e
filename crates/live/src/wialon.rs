//! Wialon IPS (v1.1 and v2.0), the text protocol of trackers on Kazakh buses: a
//! `tokio-util` codec that turns `\r\n`-terminated lines into packets and writes the
//! protocol's own answers, plus the tracker side (building lines) for the simulator.
//!
//! A malformed packet is never a decoder error: it decodes to [`Incoming::Rejected`] with
//! the answer the protocol prescribes, so one bad line costs one error answer and a
//! counter, not the connection. Answer codes (Wialon IPS 2.0 specification):
//! `#AL#` 1 accepted, 0 rejected, 01 bad password, 10 checksum error; `#ASD#` and `#AD#`
//! 1 registered, -1 structure, 0 time, 10 coordinates, 11 speed/course/height,
//! 12 satellites (and HDOP), `#AD#` 13 inputs/outputs, 14 ADC, 15 parameters, checksum
//! error 13 for `#ASD#` and 16 for `#AD#`; `#AB#n` with n records registered (empty on a
//! checksum error); `#AP#` for a ping.

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use transit::geo::Coordinate;

use crate::ids::{TimeMs, TrackerId};

/// Longest line accepted (a black-box batch of a few hundred records).
pub const LINE_BYTES_MAX: usize = 64 * 1024;
/// Records accepted in one `#B#` batch.
pub const BATCH_RECORDS_MAX: usize = 1_000;
/// Highest plausible speed; faster reports are broken.
pub const SPEED_MAX_KMH: f64 = 300.0;

/// Protocol version, fixed by the login packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolVersion {
    V1_1,
    /// Adds a CRC16 to login and data packets.
    V2_0,
}

/// One position record of `#SD#`, `#D#` or `#B#`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WialonFix {
    /// `None` when the tracker sent `NA` (the server's clock then applies).
    pub at: Option<TimeMs>,
    /// `None` when the tracker has no GPS fix (`NA`).
    pub point: Option<Coordinate>,
    pub speed_kmh: Option<f64>,
    pub course_deg: Option<f64>,
    pub height_m: Option<f64>,
    pub satellites: Option<u32>,
}

impl WialonFix {
    /// What a tracker would send for this position (the simulator reports through here).
    pub fn from_position(position: &crate::state::Position) -> Self {
        Self {
            at: Some(position.at),
            point: Some(position.point),
            speed_kmh: position.speed_mps.map(|mps| mps * 3.6),
            course_deg: position.heading_deg,
            height_m: None,
            satellites: None,
        }
    }
}

/// A well-formed packet from a tracker.
#[derive(Clone, Debug, PartialEq)]
pub enum WialonPacket {
    Login {
        version: ProtocolVersion,
        tracker: TrackerId,
        password: Option<String>,
    },
    ShortData(WialonFix),
    Data(WialonFix),
    /// Records that parsed, and how many did not (the answer counts only the former).
    Batch {
        fixes: Vec<WialonFix>,
        rejected: usize,
    },
    Ping,
}

/// What was wrong with a data record, in the protocol's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataError {
    Structure,
    Time,
    Coordinates,
    SpeedCourseHeight,
    Satellites,
    InputsOutputs,
    Adc,
    Params,
    Checksum,
}

/// How a login ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginAnswer {
    Accepted,
    Rejected,
    BadPassword,
    BadChecksum,
}

/// A server answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Login(LoginAnswer),
    ShortData(Result<(), DataError>),
    Data(Result<(), DataError>),
    /// Records registered; `None` on a checksum error.
    Batch(Option<usize>),
    Ping,
}

impl Answer {
    /// The line without `\r\n`.
    pub fn to_line(&self) -> String {
        match self {
            Answer::Login(answer) => format!("#AL#{}", login_code(*answer)),
            Answer::ShortData(result) => format!("#ASD#{}", data_code(*result, 13)),
            Answer::Data(result) => format!("#AD#{}", data_code(*result, 16)),
            Answer::Batch(Some(count)) => format!("#AB#{count}"),
            Answer::Batch(None) => "#AB#".to_owned(),
            Answer::Ping => "#AP#".to_owned(),
        }
    }

    /// Reads an answer line (tracker side), `\r\n` already removed.
    pub fn parse(line: &str) -> Option<Answer> {
        let rest = line.strip_prefix('#')?;
        let (kind, code) = rest.split_once('#')?;
        Some(match kind {
            "AL" => Answer::Login(match code {
                "1" => LoginAnswer::Accepted,
                "01" => LoginAnswer::BadPassword,
                "10" => LoginAnswer::BadChecksum,
                _ => LoginAnswer::Rejected,
            }),
            "ASD" => Answer::ShortData(parse_data_code(code, 13)?),
            "AD" => Answer::Data(parse_data_code(code, 16)?),
            "AB" => Answer::Batch(code.parse().ok()),
            "AP" => Answer::Ping,
            _ => return None,
        })
    }
}

fn login_code(answer: LoginAnswer) -> &'static str {
    match answer {
        LoginAnswer::Accepted => "1",
        LoginAnswer::Rejected => "0",
        LoginAnswer::BadPassword => "01",
        LoginAnswer::BadChecksum => "10",
    }
}

fn data_code(result: Result<(), DataError>, checksum_code: i8) -> i8 {
    match result {
        Ok(()) => 1,
        Err(DataError::Structure) => -1,
        Err(DataError::Time) => 0,
        Err(DataError::Coordinates) => 10,
        Err(DataError::SpeedCourseHeight) => 11,
        Err(DataError::Satellites) => 12,
        Err(DataError::InputsOutputs) => 13,
        Err(DataError::Adc) => 14,
        Err(DataError::Params) => 15,
        Err(DataError::Checksum) => checksum_code,
    }
}

fn parse_data_code(code: &str, checksum_code: i8) -> Option<Result<(), DataError>> {
    let code: i8 = code.parse().ok()?;
    Some(match code {
        1 => Ok(()),
        0 => Err(DataError::Time),
        10 => Err(DataError::Coordinates),
        11 => Err(DataError::SpeedCourseHeight),
        12 => Err(DataError::Satellites),
        c if c == checksum_code => Err(DataError::Checksum),
        13 => Err(DataError::InputsOutputs),
        14 => Err(DataError::Adc),
        15 => Err(DataError::Params),
        _ => Err(DataError::Structure),
    })
}

/// Why a line was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// Unknown packet type, not text, or no `#type#` header: no answer exists for it.
    Unrecognised,
    TooLong,
    BadLogin,
    BadChecksum,
    BadData(DataError),
}

/// A refused line and the answer the protocol prescribes (if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub answer: Option<Answer>,
}

/// One decoded line.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Packet(WialonPacket),
    Rejected(Rejection),
}

/// Server-side codec; remembers the protocol version from the login.
#[derive(Clone, Debug, Default)]
pub struct WialonCodec {
    version: Option<ProtocolVersion>,
    discarding: bool,
}

impl WialonCodec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }
}

impl Decoder for WialonCodec {
    type Item = Incoming;
    type Error = std::io::Error;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Incoming>, std::io::Error> {
        loop {
            let Some(end) = buffer.iter().position(|&byte| byte == b'\n') else {
                if buffer.len() > LINE_BYTES_MAX {
                    buffer.clear();
                    if !self.discarding {
                        self.discarding = true;
                        return Ok(Some(too_long()));
                    }
                }
                return Ok(None);
            };
            let line = buffer.split_to(end + 1);
            if std::mem::take(&mut self.discarding) {
                continue;
            }
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            if line.len() > LINE_BYTES_MAX {
                return Ok(Some(too_long()));
            }
            return Ok(Some(self.decode_line(line)));
        }
    }
}

fn too_long() -> Incoming {
    Incoming::Rejected(Rejection {
        reason: RejectReason::TooLong,
        answer: None,
    })
}

impl Encoder<Answer> for WialonCodec {
    type Error = std::io::Error;

    fn encode(&mut self, answer: Answer, buffer: &mut BytesMut) -> Result<(), std::io::Error> {
        buffer.put_slice(answer.to_line().as_bytes());
        buffer.put_slice(b"\r\n");
        Ok(())
    }
}

impl WialonCodec {
    fn decode_line(&mut self, line: &[u8]) -> Incoming {
        let unrecognised = Incoming::Rejected(Rejection {
            reason: RejectReason::Unrecognised,
            answer: None,
        });
        let Ok(line) = std::str::from_utf8(line) else {
            return unrecognised;
        };
        let Some((kind, body)) = line.strip_prefix('#').and_then(|rest| rest.split_once('#'))
        else {
            return unrecognised;
        };
        match kind {
            "L" => self.decode_login(body),
            "SD" => self.decode_data(
                body,
                Answer::ShortData,
                WialonPacket::ShortData,
                SHORT_FIELDS,
            ),
            "D" => self.decode_data(body, Answer::Data, WialonPacket::Data, FULL_FIELDS),
            "B" => self.decode_batch(body),
            "P" => Incoming::Packet(WialonPacket::Ping),
            _ => unrecognised,
        }
    }

    fn decode_login(&mut self, body: &str) -> Incoming {
        let reject = |reason, answer| {
            Incoming::Rejected(Rejection {
                reason,
                answer: Some(Answer::Login(answer)),
            })
        };
        let fields: Vec<&str> = body.split(';').collect();
        let (version, tracker, password) = match fields.as_slice() {
            [tracker, password] => (ProtocolVersion::V1_1, *tracker, *password),
            ["2.0", tracker, password, _crc] => {
                if !checksum_ok(body) {
                    return reject(RejectReason::BadChecksum, LoginAnswer::BadChecksum);
                }
                (ProtocolVersion::V2_0, *tracker, *password)
            }
            _ => return reject(RejectReason::BadLogin, LoginAnswer::Rejected),
        };
        if tracker.is_empty() || tracker == "NA" {
            return reject(RejectReason::BadLogin, LoginAnswer::Rejected);
        }
        self.version = Some(version);
        let password = (password != "NA" && !password.is_empty()).then(|| password.to_owned());
        Incoming::Packet(WialonPacket::Login {
            version,
            tracker: TrackerId::new(tracker),
            password,
        })
    }

    fn decode_data(
        &self,
        body: &str,
        answer: fn(Result<(), DataError>) -> Answer,
        packet: fn(WialonFix) -> WialonPacket,
        field_count: usize,
    ) -> Incoming {
        let reject = |error| {
            Incoming::Rejected(Rejection {
                reason: RejectReason::BadData(error),
                answer: Some(answer(Err(error))),
            })
        };
        let record = match self.version {
            Some(ProtocolVersion::V2_0) => {
                if !checksum_ok(body) {
                    return Incoming::Rejected(Rejection {
                        reason: RejectReason::BadChecksum,
                        answer: Some(answer(Err(DataError::Checksum))),
                    });
                }
                body.rsplit_once(';').map_or("", |(record, _)| record)
            }
            _ => body,
        };
        match parse_record(record, field_count) {
            Ok(fix) => Incoming::Packet(packet(fix)),
            Err(error) => reject(error),
        }
    }

    fn decode_batch(&self, body: &str) -> Incoming {
        let records = match self.version {
            Some(ProtocolVersion::V2_0) => {
                if !checksum_ok_after(body, '|') {
                    return Incoming::Rejected(Rejection {
                        reason: RejectReason::BadChecksum,
                        answer: Some(Answer::Batch(None)),
                    });
                }
                body.rsplit_once('|').map_or("", |(records, _)| records)
            }
            _ => body,
        };
        let mut fixes = Vec::new();
        let mut rejected = 0;
        for record in records
            .split('|')
            .filter(|r| !r.is_empty())
            .take(BATCH_RECORDS_MAX)
        {
            let field_count = if record.split(';').count() >= FULL_FIELDS {
                FULL_FIELDS
            } else {
                SHORT_FIELDS
            };
            match parse_record(record, field_count) {
                Ok(fix) => fixes.push(fix),
                Err(_) => rejected += 1,
            }
        }
        Incoming::Packet(WialonPacket::Batch { fixes, rejected })
    }
}

const SHORT_FIELDS: usize = 10;
const FULL_FIELDS: usize = 16;

/// Parses `date;time;lat1;lat2;lon1;lon2;speed;course;height;sats[;hdop;...]`.
fn parse_record(record: &str, field_count: usize) -> Result<WialonFix, DataError> {
    let fields: Vec<&str> = record.split(';').collect();
    if fields.len() != field_count {
        return Err(DataError::Structure);
    }
    let [
        date,
        time,
        lat,
        lat_side,
        lon,
        lon_side,
        speed,
        course,
        height,
        satellites,
        ..,
    ] = fields.as_slice()
    else {
        return Err(DataError::Structure);
    };
    let at = match (*date, *time) {
        ("NA", _) | (_, "NA") => None,
        (date, time) => Some(parse_time(date, time).ok_or(DataError::Time)?),
    };
    let point = match (*lat, *lon) {
        ("NA", _) | (_, "NA") => None,
        _ => Some(parse_point(lat, lat_side, lon, lon_side).ok_or(DataError::Coordinates)?),
    };
    let speed_kmh = optional_number(speed).ok_or(DataError::SpeedCourseHeight)?;
    let course_deg = optional_number(course).ok_or(DataError::SpeedCourseHeight)?;
    let height_m = optional_number(height).ok_or(DataError::SpeedCourseHeight)?;
    if speed_kmh.is_some_and(|s| !(0.0..=SPEED_MAX_KMH).contains(&s))
        || course_deg.is_some_and(|c| !(0.0..=360.0).contains(&c))
    {
        return Err(DataError::SpeedCourseHeight);
    }
    let satellites = match *satellites {
        "NA" => None,
        text => Some(text.parse::<u32>().map_err(|_| DataError::Satellites)?),
    };
    if let Some(hdop) = fields.get(SHORT_FIELDS) {
        optional_number(hdop).ok_or(DataError::Satellites)?;
    }
    Ok(WialonFix {
        at,
        point,
        speed_kmh,
        course_deg,
        height_m,
        satellites,
    })
}

/// `Some(None)` for `NA`, `Some(Some(x))` for a finite number, `None` for garbage.
fn optional_number(text: &str) -> Option<Option<f64>> {
    if text == "NA" {
        return Some(None);
    }
    text.parse::<f64>().ok().filter(|x| x.is_finite()).map(Some)
}

/// NMEA `ddmm.mmmm` / `dddmm.mmmm` with a hemisphere letter.
fn parse_point(lat: &str, lat_side: &str, lon: &str, lon_side: &str) -> Option<Coordinate> {
    let lat = nmea_degrees(lat)? * hemisphere(lat_side, 'N', 'S')?;
    let lon = nmea_degrees(lon)? * hemisphere(lon_side, 'E', 'W')?;
    Coordinate::new(lat, lon).ok()
}

fn nmea_degrees(text: &str) -> Option<f64> {
    let value: f64 = text
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let degrees = (value / 100.0).trunc();
    let minutes = value - degrees * 100.0;
    (minutes < 60.0).then_some(degrees + minutes / 60.0)
}

fn hemisphere(text: &str, positive: char, negative: char) -> Option<f64> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c == positive => Some(1.0),
        (Some(c), None) if c == negative => Some(-1.0),
        _ => None,
    }
}

/// `DDMMYY` and `HHMMSS` (optionally `.fff`), UTC.
fn parse_time(date: &str, time: &str) -> Option<TimeMs> {
    let digits = |text: &str, range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    if date.len() != 6 || time.len() < 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (day, month, year) = (
        digits(date, 0..2)?,
        digits(date, 2..4)?,
        2000 + digits(date, 4..6)?,
    );
    let (hour, minute) = (digits(time, 0..2)?, digits(time, 2..4)?);
    let seconds: f64 = time.get(4..)?.parse().ok()?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || !(0.0..60.0).contains(&seconds)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let whole_s = days * 86_400 + hour * 3_600 + minute * 60;
    Some(TimeMs(whole_s * 1000 + (seconds * 1000.0).round() as i64))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// CRC-16/ARC (polynomial 0xA001 reflected, initial 0), the checksum of Wialon IPS 2.0;
/// table-driven, as every data line of a v2.0 tracker is checked.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0_u16, |crc, byte| {
        let index = usize::from((crc ^ u16::from(*byte)) & 0xFF);
        (crc >> 8) ^ CRC16_TABLE.get(index).copied().unwrap_or(0)
    })
}

const CRC16_TABLE: [u16; 256] = crc16_table();

const fn crc16_table() -> [u16; 256] {
    let mut table = [0_u16; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
            bit += 1;
        }
        // Const evaluation fails the build, not a request, if this were out of range.
        #[allow(clippy::indexing_slicing)]
        {
            table[index] = crc;
        }
        index += 1;
    }
    table
}

/// The checksum is the last `;`-field and covers everything before it, separator included.
fn checksum_ok(body: &str) -> bool {
    checksum_ok_after(body, ';')
}

fn checksum_ok_after(body: &str, separator: char) -> bool {
    let Some(split) = body.rfind(separator) else {
        return false;
    };
    let (covered, crc_text) = body.split_at(split + separator.len_utf8());
    u16::from_str_radix(crc_text, 16).is_ok_and(|crc| crc == crc16(covered.as_bytes()))
}

// ---- tracker side ---------------------------------------------------------------------

/// Login line without `\r\n`.
pub fn login_line(version: ProtocolVersion, tracker: &str, password: Option<&str>) -> String {
    let password = password.unwrap_or("NA");
    match version {
        ProtocolVersion::V1_1 => format!("#L#{tracker};{password}"),
        ProtocolVersion::V2_0 => with_crc("#L#", &format!("2.0;{tracker};{password};")),
    }
}

/// `#SD#` line without `\r\n`.
pub fn short_data_line(version: ProtocolVersion, fix: &WialonFix) -> String {
    let record = record_text(fix);
    match version {
        ProtocolVersion::V1_1 => format!("#SD#{record}"),
        ProtocolVersion::V2_0 => with_crc("#SD#", &format!("{record};")),
    }
}

/// `#B#` line of short records without `\r\n`.
pub fn batch_line(version: ProtocolVersion, fixes: &[WialonFix]) -> String {
    let records: Vec<String> = fixes.iter().map(record_text).collect();
    let body = records.join("|");
    match version {
        ProtocolVersion::V1_1 => format!("#B#{body}"),
        ProtocolVersion::V2_0 => with_crc("#B#", &format!("{body}|")),
    }
}

fn with_crc(prefix: &str, covered: &str) -> String {
    format!("{prefix}{covered}{:04X}", crc16(covered.as_bytes()))
}

fn record_text(fix: &WialonFix) -> String {
    let (date, time) = fix
        .at
        .map_or(("NA".to_owned(), "NA".to_owned()), format_time);
    let (lat, lat_side, lon, lon_side) = fix.point.map_or_else(
        || ("NA".to_owned(), "NA", "NA".to_owned(), "NA"),
        |p| {
            let lat_side = if p.lat() < 0.0 { "S" } else { "N" };
            let lon_side = if p.lon() < 0.0 { "W" } else { "E" };
            (
                nmea_text(p.lat().abs(), 2),
                lat_side,
                nmea_text(p.lon().abs(), 3),
                lon_side,
            )
        },
    );
    let number =
        |value: Option<f64>| value.map_or("NA".to_owned(), |v| format!("{}", v.round() as i64));
    let satellites = fix.satellites.map_or("NA".to_owned(), |s| s.to_string());
    format!(
        "{date};{time};{lat};{lat_side};{lon};{lon_side};{};{};{};{satellites}",
        number(fix.speed_kmh),
        number(fix.course_deg),
        number(fix.height_m),
    )
}

fn nmea_text(degrees: f64, width: usize) -> String {
    let whole = degrees.trunc();
    let minutes = (degrees - whole) * 60.0;
    format!("{:0width$}{:07.4}", whole as i64, minutes)
}

fn format_time(at: TimeMs) -> (String, String) {
    let seconds = at.unix_s();
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    (
        format!("{day:02}{month:02}{:02}", year.rem_euclid(100)),
        format!(
            "{:02}{:02}{:02}",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(codec: &mut WialonCodec, text: &str) -> Vec<Incoming> {
        let mut buffer = BytesMut::from(text.as_bytes());
        let mut out = Vec::new();
        while let Some(item) = codec.decode(&mut buffer).unwrap() {
            out.push(item);
        }
        out
    }

    #[test]
    fn crc16_is_arc() {
        assert_eq!(crc16(b"123456789"), 0xBB3D);
    }

    #[test]
    fn decodes_v1_login_and_short_data() {
        let mut codec = WialonCodec::new();
        let items = decode(
            &mut codec,
            "#L#861234567890123;secret\r\n#SD#060925;081500;4439.1234;N;06334.5678;W;36;90;12;9\r\n#P#\r\n",
        );
        let [
            Incoming::Packet(WialonPacket::Login {
                version,
                tracker,
                password,
            }),
            Incoming::Packet(WialonPacket::ShortData(fix)),
            Incoming::Packet(WialonPacket::Ping),
        ] = items.as_slice()
        else {
            panic!("{items:?}")
        };
        assert_eq!(
            (*version, tracker.as_str(), password.as_deref()),
            (ProtocolVersion::V1_1, "861234567890123", Some("secret"))
        );
        let point = fix.point.unwrap();
        assert!((point.lat() - (44.0 + 39.1234 / 60.0)).abs() < 1e-9);
        assert!((point.lon() + (63.0 + 34.5678 / 60.0)).abs() < 1e-9);
        assert_eq!(fix.at, Some(TimeMs::from_unix_s(1_757_146_500)));
        assert_eq!(fix.speed_kmh, Some(36.0));
    }

    #[test]
    fn v2_checks_checksums_and_answers_in_protocol_codes() {
        let mut codec = WialonCodec::new();
        let login = login_line(ProtocolVersion::V2_0, "123", Some("pw"));
        let fix = WialonFix {
            at: Some(TimeMs::from_unix_s(1_757_146_500)),
            point: Some(Coordinate::new(44.65, -63.58).unwrap()),
            speed_kmh: Some(30.0),
            course_deg: Some(180.0),
            height_m: Some(10.0),
            satellites: Some(8),
        };
        let data = short_data_line(ProtocolVersion::V2_0, &fix);
        let corrupted = data.replace(";N;", ";S;");
        let batch = batch_line(ProtocolVersion::V2_0, &[fix, fix]);
        let text =
            format!("{login}\r\n{data}\r\n{corrupted}\r\n{batch}\r\n#SD#garbage;\r\n#ZZ#\r\n");
        let items = decode(&mut codec, &text);
        assert_eq!(items.len(), 6, "{items:?}");
        assert!(matches!(
            &items[0],
            Incoming::Packet(WialonPacket::Login {
                version: ProtocolVersion::V2_0,
                ..
            })
        ));
        let Incoming::Packet(WialonPacket::ShortData(parsed)) = &items[1] else {
            panic!("{:?}", items[1])
        };
        let point = parsed.point.unwrap();
        assert!((point.lat() - 44.65).abs() < 1e-6 && (point.lon() + 63.58).abs() < 1e-6);
        assert_eq!(
            items[2],
            Incoming::Rejected(Rejection {
                reason: RejectReason::BadChecksum,
                answer: Some(Answer::ShortData(Err(DataError::Checksum)))
            })
        );
        assert!(
            matches!(&items[3], Incoming::Packet(WialonPacket::Batch { fixes, rejected: 0 }) if fixes.len() == 2)
        );
        assert!(matches!(
            &items[4],
            Incoming::Rejected(Rejection {
                answer: Some(Answer::ShortData(Err(_))),
                ..
            })
        ));
        assert_eq!(
            items[5],
            Incoming::Rejected(Rejection {
                reason: RejectReason::Unrecognised,
                answer: None
            })
        );
        assert_eq!(
            Answer::ShortData(Err(DataError::Checksum)).to_line(),
            "#ASD#13"
        );
        assert_eq!(Answer::Data(Err(DataError::Checksum)).to_line(), "#AD#16");
        assert_eq!(Answer::Login(LoginAnswer::BadPassword).to_line(), "#AL#01");
        assert_eq!(
            Answer::parse("#AL#01"),
            Some(Answer::Login(LoginAnswer::BadPassword))
        );
        assert_eq!(Answer::parse("#AB#2"), Some(Answer::Batch(Some(2))));
    }

    #[test]
    fn overlong_lines_are_rejected_once_and_the_stream_recovers() {
        let mut codec = WialonCodec::new();
        let mut text = "x".repeat(LINE_BYTES_MAX + 10);
        text.push_str("\r\n#P#\r\n");
        let items = decode(&mut codec, &text);
        assert_eq!(
            items,
            vec![too_long(), Incoming::Packet(WialonPacket::Ping)]
        );
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-1, 0, 10_957, 20_000, 20_336] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
